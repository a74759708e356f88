"""The classifier candidates (scikit-learn pipelines on raw case text) and the artifact wrapper.

Every pipeline starts with `normalize_many` (NFKC, t2s, whitespace, 2,000-character cap), so a
pickled artifact takes raw text and nothing outside it has to remember how it was trained.
Functions used inside pipelines live at module level: joblib pickles them by reference.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import ComplementNB
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import LinearSVC

from cityops.routing.text import char_text, normalize, words

DEFAULT_ALGORITHM = "char13_nbstack_oof"


def normalize_many(texts: Sequence[str]) -> list[str]:
    return [normalize(t) for t in texts]


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def _char_tfidf(lo: int, hi: int) -> TfidfVectorizer:
    # Spaces and punctuation are dropped first: pre-segmented and raw text give the same n-grams.
    return TfidfVectorizer(
        analyzer="char", ngram_range=(lo, hi), preprocessor=char_text, lowercase=False,
        sublinear_tf=True, min_df=2, max_df=0.9, dtype=np.float32,
    )


def _word_tfidf() -> TfidfVectorizer:
    return TfidfVectorizer(analyzer=words, lowercase=False, sublinear_tf=True, min_df=1, max_df=0.9, dtype=np.float32)


def _svc() -> CalibratedClassifierCV:
    # Sigmoid calibration on 3 internal folds turns SVM margins into probabilities that
    # the top-3 and the auto-dispatch threshold can use.
    return CalibratedClassifierCV(LinearSVC(C=0.5), cv=3, method="sigmoid")


def _lr() -> LogisticRegression:
    return LogisticRegression(C=20, max_iter=300)


def _with(features, classifier) -> Pipeline:
    return Pipeline([("normalize", FunctionTransformer(normalize_many)), ("features", features), ("clf", classifier)])


class MeanProba(ClassifierMixin, BaseEstimator):
    """Soft voting over pipelines that each take raw text (the classes are the union, sorted)."""

    def __init__(self, members: list[Pipeline] | None = None) -> None:
        self.members = members

    def fit(self, X, y):
        self.members_ = [clone(m).fit(X, y) for m in (self.members or [])]
        self.classes_ = np.array(sorted(set(y)))
        return self

    def predict_proba(self, X):
        total = np.zeros((len(X), len(self.classes_)))
        for member in self.members_:
            index = np.searchsorted(self.classes_, member.classes_)
            total[:, index] += member.predict_proba(X)
        return total / len(self.members_)

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def svc_scores(svc, X) -> np.ndarray:
    """Decision values with one column per class (liblinear returns one column for two classes)."""
    scores = svc.decision_function(X)
    return np.column_stack([-scores, scores]) if scores.ndim == 1 else scores


class ScoreCalibrated(ClassifierMixin, BaseEstimator):
    """A linear SVM whose decision values are turned into probabilities by a small multinomial
    logistic regression fitted on *out-of-fold* decision values (see `training.fast_svc`): the
    same calibration CalibratedClassifierCV(ensemble=False) gives, without training the SVM again
    for it — the folds that choose the threshold provide the out-of-fold values anyway."""

    def __init__(self, C: float = 0.5) -> None:
        self.C = C

    def fit(self, X, y):  # plain fit (in-sample calibration) for use outside the fast trainer
        svc = LinearSVC(C=self.C).fit(X, y)
        return self.set_fitted(svc, LogisticRegression(C=10, max_iter=1000).fit(svc_scores(svc, X), y))

    def set_fitted(self, svc, calibrator):
        self.svc_, self.calibrator_ = svc, calibrator
        self.classes_ = svc.classes_
        return self

    def predict_proba(self, X):
        return self.calibrator_.predict_proba(svc_scores(self.svc_, X))

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def nb_ratios(X, y: np.ndarray, classes: Sequence[str], alpha: float = 1.0) -> np.ndarray:
    """Per class, the log-ratio of how often each feature occurs in that class's texts versus the
    others' (NB-SVM, Wang & Manning 2012), with add-`alpha` smoothing: one row per class."""
    present = X.copy()
    present.data[:] = 1.0
    ratios = np.zeros((len(classes), X.shape[1]))
    for row, label in enumerate(classes):
        mine = y == label
        p = alpha + np.asarray(present[mine].sum(axis=0)).ravel()
        q = alpha + np.asarray(present[~mine].sum(axis=0)).ravel()
        ratios[row] = np.log(p / p.sum()) - np.log(q / q.sum())
    return ratios


def fit_nbstack_scores(X, y, *, c_svc: float = 2.0, c_nb: float = 2.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The two linear scorers of `NBStackCalibrated` as one (2k × F) matrix and 2k intercepts:
    rows 0…k-1 a multi-class linear SVM, rows k…2k-1 one NB-SVM per class (a binary SVM on the
    features scaled by the class's ratios; its effective weights are those ratios times its own)."""
    import scipy.sparse as sp

    y = np.asarray(y)
    classes = np.array(sorted(set(y.tolist())))
    svc = LinearSVC(C=c_svc).fit(X, y)
    svc_coef, svc_intercept = svc.coef_, svc.intercept_
    if svc_coef.shape[0] == 1:  # two classes: liblinear keeps one row
        svc_coef, svc_intercept = np.vstack([-svc_coef, svc_coef]), np.array([-svc_intercept[0], svc_intercept[0]])
    ratios = nb_ratios(X, y, classes)
    nb_coef = np.zeros_like(ratios)
    nb_intercept = np.zeros(len(classes))
    for row, label in enumerate(classes):
        binary = LinearSVC(C=c_nb).fit(X @ sp.diags(ratios[row]), y == label)
        nb_coef[row], nb_intercept[row] = binary.coef_[0] * ratios[row], binary.intercept_[0]
    return np.vstack([svc_coef, nb_coef]), np.concatenate([svc_intercept, nb_intercept]), classes


class NBStackCalibrated(ClassifierMixin, BaseEstimator):
    """A linear SVM and per-class NB-SVMs on the same features, their 2k scores turned into
    probabilities by a multinomial logistic regression fitted on out-of-fold scores (as
    `ScoreCalibrated`, with twice the inputs). Every score is linear in the features, so the
    fitted model is one matrix: prediction costs what the plain SVM's does, twice over."""

    def __init__(self, c_svc: float = 2.0, c_nb: float = 2.0) -> None:
        self.c_svc = c_svc
        self.c_nb = c_nb

    def fit(self, X, y):  # plain fit (in-sample calibration) for use outside the fast trainer
        coef, intercept, classes = fit_nbstack_scores(X, y, c_svc=self.c_svc, c_nb=self.c_nb)
        scores = np.asarray(X @ coef.T) + intercept
        return self.set_fitted(coef, intercept, classes, LogisticRegression(C=10, max_iter=1000).fit(scores, y))

    def set_fitted(self, coef, intercept, classes, calibrator):
        self.coef_ = np.asarray(coef, dtype=np.float32)  # 2k × F: float32 halves the artifact
        self.intercept_ = np.asarray(intercept, dtype=np.float64)
        self.classes_ = np.asarray(classes)
        self.calibrator_ = calibrator
        return self

    def scores(self, X) -> np.ndarray:
        return np.asarray(X @ self.coef_.T, dtype=np.float64) + self.intercept_

    def predict_proba(self, X):
        return self.calibrator_.predict_proba(self.scores(X))

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


# Algorithms trained by `training.fast_svc`: features computed once for all folds, the linear
# scores' probabilities calibrated on the out-of-fold scores.
FAST_SVC = {"char13_svc_oof": (1, 3), "char24_svc_oof": (2, 4), "char13_nbstack_oof": (1, 3)}
NB_STACKED = {"char13_nbstack_oof"}

ALGORITHMS: dict[str, tuple[str, Callable[[], BaseEstimator]]] = {
    "char13_svc_oof": (
        "字符 1–3 元 TF-IDF + 线性 SVM，折外决策值校准（特征只算一次）",
        lambda: _with(_char_tfidf(1, 3), ScoreCalibrated()),
    ),
    "char24_svc_oof": (
        "字符 2–4 元 TF-IDF + 线性 SVM，折外决策值校准（特征只算一次）",
        lambda: _with(_char_tfidf(2, 4), ScoreCalibrated()),
    ),
    "char13_nbstack_oof": (
        "字符 1–3 元 TF-IDF + 线性 SVM 与 NB-SVM 堆叠，折外得分校准（特征只算一次）",
        lambda: _with(_char_tfidf(1, 3), NBStackCalibrated()),
    ),
    "char13_svc": ("字符 1–3 元 TF-IDF + 线性 SVM（校准）", lambda: _with(_char_tfidf(1, 3), _svc())),
    "char24_svc": ("字符 2–4 元 TF-IDF + 线性 SVM（校准）", lambda: _with(_char_tfidf(2, 4), _svc())),
    "char13_lr": ("字符 1–3 元 TF-IDF + 逻辑回归", lambda: _with(_char_tfidf(1, 3), _lr())),
    "char13_cnb": ("字符 1–3 元 TF-IDF + Complement NB", lambda: _with(_char_tfidf(1, 3), ComplementNB(alpha=0.3))),
    "word_svc": ("jieba 词 TF-IDF + 线性 SVM（校准）", lambda: _with(_word_tfidf(), _svc())),
    "union_svc": (
        "字符 1–3 元 + jieba 词 TF-IDF + 线性 SVM（校准）",
        lambda: _with(FeatureUnion([("char", _char_tfidf(1, 3)), ("word", _word_tfidf())]), _svc()),
    ),
    "ensemble": (
        "集成：字符 1–3 SVM + 字符 2–4 SVM + 字符 1–3 逻辑回归（概率平均）",
        lambda: MeanProba([_with(_char_tfidf(1, 3), _svc()), _with(_char_tfidf(2, 4), _svc()), _with(_char_tfidf(1, 3), _lr())]),
    ),
}


def build_estimator(algorithm: str = DEFAULT_ALGORITHM) -> BaseEstimator:
    try:
        return ALGORITHMS[algorithm][1]()
    except KeyError:
        raise ValueError(f"未知算法 {algorithm}，可选：{', '.join(ALGORITHMS)}") from None


@dataclass
class Router:
    """What a RoutingModel's artifact holds: a fitted pipeline on raw text, and its class codes."""

    estimator: BaseEstimator
    classes: list[str]
    algorithm: str
    versions: dict[str, str] = field(default_factory=dict)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities for each text, columns in `self.classes` order."""
        return np.asarray(self.estimator.predict_proba(list(texts)))

    def top(self, text: str, k: int = 3) -> list[tuple[str, float]]:
        proba = self.proba_one(text)
        order = np.argsort(-proba)[:k]
        return [(self.classes[i], float(proba[i])) for i in order]

    def proba_one(self, text: str) -> np.ndarray:
        """Probabilities for one text. For the TF-IDF → ScoreCalibrated pipelines this computes
        the same numbers as `predict_proba` with a few numpy operations on the text's own
        n-grams (scikit-learn's per-call validation and sparse machinery cost ~5 ms per item)."""
        fast = self.__dict__.get("_fast")
        if fast is None:
            fast = self.__dict__["_fast"] = _FastPath.build(self.estimator) or False
        if fast:
            return fast.proba(text)
        return self.predict_proba([text])[0]

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_fast", None)
        return state


@dataclass
class _FastPath:
    analyzer: Callable[[str], list[str]]
    vocabulary: dict[str, int]
    idf: np.ndarray
    coef: np.ndarray  # (classes, 2 × classes or 1, features)
    intercept: np.ndarray
    cal_coef: np.ndarray
    cal_intercept: np.ndarray

    @classmethod
    def build(cls, estimator) -> _FastPath | None:
        if not isinstance(estimator, Pipeline) or len(estimator.steps) != 3:
            return None
        normalize_step, vectorizer, clf = (step for _, step in estimator.steps)
        if not (isinstance(vectorizer, TfidfVectorizer) and isinstance(clf, ScoreCalibrated | NBStackCalibrated)
                and isinstance(normalize_step, FunctionTransformer) and normalize_step.func is normalize_many):
            return None
        if not (vectorizer.sublinear_tf and vectorizer.use_idf and vectorizer.norm == "l2"):
            return None
        linear = clf.svc_ if isinstance(clf, ScoreCalibrated) else clf
        return cls(
            analyzer=vectorizer.build_analyzer(), vocabulary=vectorizer.vocabulary_, idf=np.asarray(vectorizer.idf_, dtype=np.float64),
            # float32 rows stay float32 (a 2k × F matrix at 100,000 training cases is ~120 MB).
            coef=np.asarray(linear.coef_), intercept=np.asarray(linear.intercept_, dtype=np.float64),
            cal_coef=np.asarray(clf.calibrator_.coef_, dtype=np.float64), cal_intercept=np.asarray(clf.calibrator_.intercept_, dtype=np.float64),
        )

    def proba(self, text: str) -> np.ndarray:
        counts: dict[int, int] = {}
        vocabulary = self.vocabulary
        for gram in self.analyzer(normalize(text)):
            index = vocabulary.get(gram)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        if counts:
            idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            values = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) * self.idf[idx]
            values /= np.sqrt(values @ values)
            scores = self.coef[:, idx].astype(np.float64) @ values + self.intercept
        else:
            scores = self.intercept.copy()
        if scores.shape[0] == 1:  # two classes: liblinear keeps one column
            scores = np.array([-scores[0], scores[0]])
        logits = self.cal_coef @ scores + self.cal_intercept
        if logits.shape[0] == 1:  # binary calibrator
            p = 1.0 / (1.0 + np.exp(-logits[0]))
            return np.array([1.0 - p, p])
        logits -= logits.max()
        e = np.exp(logits)
        return e / e.sum()


def single_blas_thread():
    """Training runs BLAS on one thread: the calibrators' tiny L-BFGS problems are ~4× slower with
    OpenBLAS threads spinning on a busy 2-core machine, and a web process should not fan out."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def fit_router(texts: Sequence[str], labels: Sequence[str], algorithm: str = DEFAULT_ALGORITHM) -> tuple[Router, float]:
    """Fit one pipeline on all of `texts`; returns the router and the seconds it took."""
    import sklearn

    started = time.perf_counter()
    with single_blas_thread():
        estimator = build_estimator(algorithm).fit(list(texts), list(labels))
    seconds = time.perf_counter() - started
    classes = [str(c) for c in estimator.classes_]
    return Router(estimator, classes, algorithm, {"sklearn": sklearn.__version__, "numpy": np.__version__}), seconds


