"""Label-free fidelity of a compressed model's outputs to the FP32 reference outputs."""

from __future__ import annotations

import numpy as np

from ._checks import real_array, same_shape, score_matrix


def top1_agreement(scores_a, scores_b) -> float:
    """Fraction of samples on which two models predict the same class (argmax).

    Needs no labels, so it works on any unlabelled calibration data. Ties resolve to the lowest
    class index (``np.argmax``), as everywhere in :mod:`edgequant.metrics`.

    Parameters
    ----------
    scores_a, scores_b : array_like, shape (n, classes)
        Outputs of the two models on the same inputs. NaN is rejected.

    Returns
    -------
    float
        In [0, 1].

    Raises
    ------
    TypeError, ValueError
        If an input is not real, is empty, not 2-D, has NaN, or the shapes differ.
    """
    scores_a = score_matrix(scores_a, "scores_a")
    scores_b = score_matrix(scores_b, "scores_b")
    same_shape(scores_a, scores_b, "scores_a", "scores_b")
    return float(np.mean(scores_a.argmax(axis=1) == scores_b.argmax(axis=1)))


def mean_softmax_kl(logits_ref, logits_test) -> float:
    """Mean over samples of KL(softmax(ref) || softmax(test)), in nats.

    Computed in float64 from log-softmax (max subtracted first), so large or very negative
    logits neither overflow nor take log(0). Each sample's KL is clipped at 0 against rounding.

    Parameters
    ----------
    logits_ref : array_like, shape (n, classes)
        Reference (e.g. FP32) logits; softmax of a row is the reference distribution.
    logits_test : array_like, shape (n, classes)
        Logits of the model under test on the same inputs.

    Returns
    -------
    float
        >= 0; 0 when the rows differ only by a per-row constant.

    Raises
    ------
    TypeError, ValueError
        If an input is not real, is empty, not 2-D, has NaN/Inf, or the shapes differ.
    """
    ref = score_matrix(logits_ref, "logits_ref", finite=True).astype(np.float64)
    test = score_matrix(logits_test, "logits_test", finite=True).astype(np.float64)
    same_shape(ref, test, "logits_ref", "logits_test")
    log_p = _log_softmax(ref)
    log_q = _log_softmax(test)
    kl = np.sum(np.exp(log_p) * (log_p - log_q), axis=1)
    return float(np.mean(np.maximum(kl, 0.0)))


def output_sqnr_db(ref, test) -> float:
    """Signal-to-quantization-noise ratio of ``test`` against ``ref``, in dB.

    ``10 log10(sum(ref**2) / sum((ref - test)**2))`` over all elements (one pooled ratio, not a
    mean of per-sample ratios, so near-zero samples cannot dominate).

    Parameters
    ----------
    ref : array_like
        Reference outputs, any shape.
    test : array_like
        Outputs under test, same shape.

    Returns
    -------
    float
        ``inf`` when ``test`` equals ``ref`` exactly (including both all zero); ``-inf`` when
        ``ref`` is all zero but ``test`` is not.

    Raises
    ------
    TypeError, ValueError
        If an input is not real, is empty, has NaN/Inf, or the shapes differ.
    """
    ref = real_array(ref, "ref").astype(np.float64)
    test = real_array(test, "test").astype(np.float64)
    same_shape(ref, test, "ref", "test")
    signal = float(np.sum(ref * ref))
    noise = float(np.sum((ref - test) ** 2))
    if noise == 0.0:
        return float("inf")
    if signal == 0.0:
        return float("-inf")
    return float(10.0 * np.log10(signal / noise))


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
