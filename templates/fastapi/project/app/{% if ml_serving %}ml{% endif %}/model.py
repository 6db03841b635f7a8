"""The model behind `/predict`, and the one place to plug in a real one.

The shipped model is a tiny bag-of-words sentiment classifier whose weights sit beside this file,
so the service works offline and its tests are deterministic. To serve your own model, write a
class with the same `predict` method (load weights in `load`, for example with joblib, ONNX
Runtime or PyTorch) and return it from `load_model`. `predict` runs in a worker thread, so a
CPU-bound model never blocks the event loop.
"""

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

WEIGHTS = Path(__file__).with_name("sentiment.json")
WORD = re.compile(r"[a-z']+")


@dataclass(frozen=True)
class Prediction:
    label: str
    score: float


class Model(Protocol):
    def predict(self, text: str) -> Prediction: ...


@dataclass(frozen=True)
class SentimentModel:
    """Logistic regression over word counts: score = sigmoid(bias + sum of word weights)."""

    weights: dict[str, float]
    bias: float

    @classmethod
    def load(cls, path: Path = WEIGHTS) -> "SentimentModel":
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            weights={str(k): float(v) for k, v in data["weights"].items()}, bias=data["bias"]
        )

    def predict(self, text: str) -> Prediction:
        logit = self.bias + sum(self.weights.get(word, 0.0) for word in WORD.findall(text.lower()))
        score = 1 / (1 + math.exp(-max(min(logit, 50.0), -50.0)))
        return Prediction(label="positive" if score >= 0.5 else "negative", score=round(score, 4))


def load_model() -> Model:
    return SentimentModel.load()
