"""The suite runs the test environment, set before any test imports `app.main` (whose module-level
app reads the settings); the application's own default is production."""

import os

os.environ.setdefault("ENVIRONMENT", "test")
