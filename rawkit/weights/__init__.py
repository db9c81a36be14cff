"""Converged weights shipped with rawkit, one folder per learned pipeline, with a card.

``rawkit/weights/<name>/`` is a folder saved by :meth:`rawkit.pipelines.Pipeline.save`
(``pipeline.json`` + ``weights.safetensors``, float16 storage) plus ``card.json``: the
data and preset it was trained on, the steps, the validation curve and the
validation/test PSNR, the seed, the CPU time and the exact command that reproduces it.
:func:`rawkit.pipelines.pretrained` loads them.  :mod:`rawkit.weights.recipes` holds the
training recipes.
"""
