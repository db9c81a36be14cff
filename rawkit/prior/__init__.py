"""Prior metadata (PriorRAW Sec. 3.3, Alg. 2): a reference set clustered and grouped into a bank.

* :func:`build_prior_bank` - faiss k-means (inner product) + nearest-``group_size``
  grouping + averaging of features, sRGB and RAW;
* :class:`PriorBank` - the entries and their build record, ``save``/``load`` in a
  versioned, checksummed ``.npz`` format, ``assemble`` (Eq. 4) and ``max_affinity``.
"""

from rawkit.prior.bank import (
    FORMAT_NAME,
    FORMAT_VERSION,
    METRICS,
    Assembled,
    Metric,
    PriorBank,
    PriorBankFileError,
    build_prior_bank,
)

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "METRICS",
    "Assembled",
    "Metric",
    "PriorBank",
    "PriorBankFileError",
    "build_prior_bank",
]
