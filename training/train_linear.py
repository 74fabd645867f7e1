"""Train the fast linear model and fit the calibration / blend / cascade used by the pipeline.

1. Hashed char+word n-gram tf-idf (rejoinder.moderation.features, numpy only at run time), one
   logistic regression per label on the rows that annotate it (scikit-learn, training only).
2. Platt calibration of the linear logit alone (used when the transformer is skipped), and of
   a two-input blend [linear logit, transformer logit] per label, both fitted on the validation split
   with the *int8* transformer's logits (what ships), never on the test split.
3. Cascade: the transformer is skipped when the linear model alone is clear about the action
   (see the comment in main()).

The bands are written as ratios to the default hold thresholds.

Artefacts (written into the package): models/linear/linear.npz (weights fp16, idf fp16) and
models/linear/calibration.json. Run after training/prepare_data.py and the transformer run:
    python training/train_linear.py --trf-logits .train/dev4/l6/logits.npz
or, when the transformer is not retrained (no GPU), with the shipped int8 model's logits:
    nice -n 5 python training/transformer_logits.py          # -> .train/trf/logits.npz
    python training/train_linear.py --trf-logits .train/trf/logits.npz
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from rejoinder.domain.moderation import DEFAULT_HOLD, Label
from rejoinder.moderation import features

LABELS = ("hate", "abuse", "threat", "sexual", "spam")
MODELS = Path("src/rejoinder/moderation/models")
DEPLOY_PREVALENCE = {"hate": 0.05, "threat": 0.02}  # assumed share in news comments


def load(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def matrix(texts: list[str], idf: np.ndarray) -> sp.csr_matrix:
    rows = features.tfidf_rows(texts, idf)
    indptr = np.cumsum([0] + [len(i) for i, _ in rows])
    indices = np.concatenate([i for i, _ in rows]) if rows else np.zeros(0, np.int64)
    data = np.concatenate([v for _, v in rows]) if rows else np.zeros(0, np.float32)
    return sp.csr_matrix((data, indices, indptr), shape=(len(texts), features.N_FEATURES))


def platt(x: np.ndarray, y: np.ndarray) -> tuple[list[float], float]:
    lr = LogisticRegression(C=100.0, max_iter=1000)
    lr.fit(x, y)
    return [float(c) for c in lr.coef_[0]], float(lr.intercept_[0])


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=".train/data")
    ap.add_argument("--trf-logits", default=".train/dev4/l6/logits.npz")
    ap.add_argument("--out", default=str(MODELS / "linear"))
    ap.add_argument("--own-repeat", type=int, default=4, help="extra copies of our own examples")
    args = ap.parse_args()
    data, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train, val = load(data / "train.jsonl"), load(data / "val.jsonl")
    # Our own examples are few: repeat them (4 extra copies, as for the transformer; 9 was tried
    # in ADR 0014 and lost hate recall on validation).
    train = train + [r for r in train if r["source"] == "own"] * args.own_repeat
    t0 = time.perf_counter()
    df = features.document_frequencies([r["text"] for r in train])
    idf = features.idf_from_df(df, len(train)).astype(np.float16).astype(np.float32)
    x_train = matrix([r["text"] for r in train], idf)
    x_val = matrix([r["text"] for r in val], idf)
    y_train, y_val = np.array([r["y"] for r in train]), np.array([r["y"] for r in val])
    print(f"features {time.perf_counter() - t0:.1f}s, nnz {x_train.nnz}")

    weights = np.zeros((features.N_FEATURES, len(LABELS)), dtype=np.float32)
    bias = np.zeros(len(LABELS), dtype=np.float32)
    report: dict[str, object] = {}
    for k, lab in enumerate(LABELS):
        m = y_train[:, k] >= 0
        best = None
        for c in (2.0, 8.0, 32.0) if lab in ("hate", "abuse", "threat") else (8.0,):
            lr = LogisticRegression(C=c, solver="liblinear", max_iter=200)
            lr.fit(x_train[m], y_train[m, k])
            mv = y_val[:, k] >= 0
            auc = (roc_auc_score(y_val[mv, k], lr.decision_function(x_val[mv]))
                   if len(set(y_val[mv, k])) == 2 else float("nan"))
            print(f"{lab} C={c} val auc {auc:.4f} (n={int(m.sum())}, pos={int(y_train[m, k].sum())})")
            if best is None or (auc == auc and auc > best[0]) or best[0] != best[0]:
                best = (auc, c, lr)
        assert best is not None
        weights[:, k] = best[2].coef_[0]
        bias[k] = best[2].intercept_[0]
        report[lab] = {"C": best[1], "val_auc": best[0]}
    weights16 = weights.astype(np.float16)
    np.savez_compressed(out / "linear.npz", weights=weights16, bias=bias, idf=idf.astype(np.float16))

    # Calibration, blend and cascade on validation, with the shipped (fp16) weights.
    lin_val = x_val @ weights16.astype(np.float32) + bias
    trf_val = np.load(args.trf_logits)["int8_val"]
    calib: dict[str, object] = {"labels": list(LABELS), "linear": {}, "blend": {}, "cascade_lo": {}}
    blend_val = np.zeros_like(lin_val)
    for k, lab in enumerate(LABELS):
        mv = y_val[:, k] >= 0
        yk = y_val[mv, k]
        if len(set(yk)) == 2 and yk.sum() >= 10:
            a, b = platt(lin_val[mv, k : k + 1], yk)
            w, c = platt(np.stack([lin_val[mv, k], trf_val[mv, k]], 1), yk)
        else:  # too few validation positives: keep the raw logits, average the two models
            a, b, w, c = [1.0], 0.0, [0.5, 0.5], 0.0
        calib["linear"][lab] = {"a": a[0], "b": b}
        calib["blend"][lab] = {"w_linear": w[0], "w_transformer": w[1], "b": c}
        blend_val[:, k] = sigmoid(w[0] * lin_val[:, k] + w[1] * trf_val[:, k] + c)
        if len(set(yk)) == 2:
            report[lab]["val_auc_blend"] = float(roc_auc_score(yk, blend_val[mv, k]))
            report[lab]["val_auc_transformer"] = float(roc_auc_score(yk, trf_val[mv, k]))
    # Deployment prior shift (Saerens et al. 2002): the training mix is about 22% hate and 9%
    # threat where annotated; news comments carry far less. Shift each logit by
    # logit(deployment prevalence) - logit(training prevalence). The deployment prevalences are
    # an assumption (DEPLOY_PREVALENCE), documented in docs/moderation.md.
    shifts = {}
    for k, lab in enumerate(LABELS):
        if lab in DEPLOY_PREVALENCE:
            m = y_train[:, k] >= 0
            pi = float(y_train[m, k].mean())
            shifts[lab] = float(np.log(DEPLOY_PREVALENCE[lab] / (1 - DEPLOY_PREVALENCE[lab]))
                                - np.log(pi / (1 - pi)))
    for k, lab in enumerate(LABELS):
        if lab in shifts:
            shift = shifts[lab]
            calib["blend"][lab]["b"] += shift
            calib["linear"][lab]["b"] += shift
            blend_val[:, k] = sigmoid(calib["blend"][lab]["w_linear"] * lin_val[:, k]
                                      + calib["blend"][lab]["w_transformer"] * trf_val[:, k]
                                      + calib["blend"][lab]["b"])
    calib["deploy_shift"] = shifts
    calib["deploy_prevalence"] = DEPLOY_PREVALENCE
    report["deploy_shift"] = shifts
    p_lin = np.stack([sigmoid(calib["linear"][lab]["a"] * lin_val[:, k] + calib["linear"][lab]["b"])
                      for k, lab in enumerate(LABELS)], 1)
    held = np.stack([blend_val[:, k] >= DEFAULT_HOLD[Label(lab)] for k, lab in enumerate(LABELS)],
                    1).any(1)
    # Skip the transformer when the linear model alone is clear about the *action*: every label's
    # p_lin / hold below `lo` (publish), or some label's p_lin above both its hold threshold and
    # `hi` (hold). Both bands are the
    # widest for which, on validation, at most 0.5% of the skipped rows change action.
    ratio = np.max(p_lin / np.array([DEFAULT_HOLD[Label(lab)] for lab in LABELS]), axis=1)
    lo = 0.0
    for cand in np.linspace(0.02, 0.95, 94):
        skipped = ratio < cand
        if skipped.sum() and held[skipped].mean() > 0.005:
            break
        lo = float(cand)
    holds = np.array([DEFAULT_HOLD[Label(lab)] for lab in LABELS])
    top = np.max(np.where(p_lin >= holds, p_lin, 0.0), axis=1)  # strongest label over its hold
    hi = 1.0
    for cand in np.linspace(0.999, 0.6, 400):
        skipped = top >= cand
        if skipped.sum() and (~held[skipped]).mean() > 0.005:
            break
        hi = float(cand)
    skip_lo, skip_hi = ratio < lo, top >= hi
    calib["cascade_lo"], calib["cascade_hi"] = lo, hi
    report["cascade"] = {
        "lo_ratio": lo, "hi_ratio": hi,
        "val_share_skipped_clean": float(skip_lo.mean()),
        "val_share_skipped_held": float(skip_hi.mean()),
        "val_action_changed_among_skipped": float(
            (held[skip_lo].sum() + (~held[skip_hi]).sum()) / max(1, (skip_lo | skip_hi).sum())),
    }
    calib["version"] = time.strftime("%Y%m%d")
    (out / "calibration.json").write_text(json.dumps(calib, indent=1))
    (out / "report.json" if out.resolve() != (MODELS / "linear").resolve()
     else Path(".train") / "linear_report.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
