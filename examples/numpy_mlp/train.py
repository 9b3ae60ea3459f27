"""Train a one-hidden-layer network written in numpy; report validation loss per epoch.

usage: python train.py OPTIMIZER   (a config file or an optimizer id)
   or: comet optimize -j 2 train.py opt.config
"""

import sys

import numpy as np

from comet_optimize import Optimizer


def two_spirals(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    angle = np.sqrt(rng.uniform(size=n)) * 3 * np.pi
    label = rng.integers(0, 2, size=n)
    sign = np.where(label == 1, 1.0, -1.0)
    x = np.column_stack([sign * angle * np.cos(angle), sign * angle * np.sin(angle)])
    return x / 10 + rng.normal(scale=0.05, size=x.shape), label.astype(float)


def train(params: dict, experiment, epochs: int = 30) -> float:
    rng = np.random.default_rng(0)
    x, y = two_spirals(1200, rng)
    x_train, y_train, x_val, y_val = x[:900], y[:900], x[900:], y[900:]
    hidden = params["hidden_units"]
    w1 = rng.normal(scale=1 / np.sqrt(2), size=(2, hidden))
    b1 = np.zeros(hidden)
    w2 = rng.normal(scale=1 / np.sqrt(hidden), size=hidden)
    b2 = 0.0
    relu = params["activation"] == "relu"
    lr, l2, batch = params["learning_rate"], params["l2"], params["batch_size"]

    def forward(inputs):
        pre = inputs @ w1 + b1
        act = np.maximum(pre, 0) if relu else np.tanh(pre)
        logits = act @ w2 + b2
        return pre, act, 1 / (1 + np.exp(-np.clip(logits, -30, 30)))

    best = np.inf
    for epoch in range(epochs):
        order = rng.permutation(len(x_train))
        for start in range(0, len(order), batch):
            idx = order[start:start + batch]
            pre, act, prob = forward(x_train[idx])
            grad_logits = (prob - y_train[idx]) / len(idx)
            grad_act = np.outer(grad_logits, w2)
            grad_pre = grad_act * ((pre > 0) if relu else (1 - act ** 2))
            w2 -= lr * (act.T @ grad_logits + l2 * w2)
            b2 -= lr * grad_logits.sum()
            w1 -= lr * (x_train[idx].T @ grad_pre + l2 * w1)
            b1 -= lr * grad_pre.sum(axis=0)
        prob = np.clip(forward(x_val)[2], 1e-7, 1 - 1e-7)
        val_loss = float(-np.mean(y_val * np.log(prob) + (1 - y_val) * np.log(1 - prob)))
        experiment.log_metric("val_loss", val_loss, epoch=epoch)
        experiment.log_metric("val_accuracy", float(np.mean((prob > 0.5) == y_val)), epoch=epoch)
        best = min(best, val_loss)
    return best


opt = Optimizer(sys.argv[1])
for experiment in opt.get_experiments(project_name="numpy-mlp"):
    best = train(experiment.params, experiment)
    print(f"#{experiment.count} {experiment.params} -> best val_loss {best:.4f}", flush=True)
