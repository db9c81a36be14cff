"""Regenerate the NO_TENSOR_INPUT / PENDING lists of tests/test_bad_inputs.py.

Run from the repository root after adding public functions:
``python tests/_regenerate_bad_input_lists.py``.  Existing entries (and their reasons)
are kept; new callables are classified by their annotations.  Review the result: a new
function with array inputs belongs in CASES, not in PENDING.
"""

import inspect
import json
import sys

import torch

sys.path.insert(0, "tests")
import test_bad_inputs as T

pub = T._public_callables()
old_no, old_pending = dict(T.NO_TENSOR_INPUT), dict(T.PENDING)
missing = sorted(set(pub) - set(T.CASES))
no, pending = {}, {}
for k in missing:
    o = pub[k]
    try:
        anns = " ".join(str(p.annotation) for p in inspect.signature(o).parameters.values())
    except Exception:
        anns = ""
    tensor = any(w in anns for w in ("Array", "Tensor", "ndarray", "np."))
    is_cls = isinstance(o, type)
    if k in old_no:
        no[k] = old_no[k]
        continue
    if k in old_pending:
        pending[k] = old_pending[k]
        continue
    if tensor:
        if is_cls:
            pending[k] = "record of arrays: its constructor does not validate yet"
        else:
            pending[k] = "array input: no case yet"
    else:
        if is_cls:
            if issubclass(o, torch.nn.Module):
                no[k] = "module constructor: settings only (forward is tested through its pipeline)"
            else:
                no[k] = "settings/result record: no array fields"
        elif "PathLike" in anns or "os.PathLike" in anns:
            no[k] = "paths and settings, no array (readers: tests/io/test_fuzz_readers.py)"
        elif not anns.strip():
            no[k] = "no arguments"
        else:
            no[k] = "no array input (names, settings, models, records)"


def fmt(d):
    out = []
    mod = None
    for k, v in sorted(d.items()):
        m = k.rsplit(".", 1)[0]
        if m != mod:
            out.append(f"    # {m}")
            mod = m
        out.append(f"    {json.dumps(k)}: {json.dumps(v)},")
    return "\n".join(out)


src = open("tests/test_bad_inputs.py").read()
a = src.index("# BEGIN GENERATED LISTS")
a = src.index("\n", src.index("\n", a) + 1) + 1
b = src.index("# END GENERATED LISTS")
block = (
    "#: Public callables that take no array input: nothing for the array kinds to corrupt\n"
    "#: (their scalar options are tested in their own modules).  One reason each.\n"
    "NO_TENSOR_INPUT: dict[str, str] = {\n" + fmt(no) + "\n}\n"
    "#: Public callables WITH array inputs that have no case yet: the gap is listed here,\n"
    "#: visibly, until their owner adds a Case.  Do not add new functions here.\n"
    "PENDING: dict[str, str] = {\n" + fmt(pending) + "\n}\n"
)
src = src[:a] + block + src[b:]
open("tests/test_bad_inputs.py", "w").write(src)
print(len(no), len(pending))
