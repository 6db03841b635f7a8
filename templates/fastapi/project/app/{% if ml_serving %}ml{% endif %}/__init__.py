"""Model serving: the model is loaded once at start-up (see `app.main.lifespan`)."""
