import subprocess
import sys


def test_builtin_camera_does_not_change_numpy_printoptions():
    """``import colour`` flips NumPy to legacy printing; rawkit must undo that."""
    code = (
        "import numpy as np, rawkit.isp as isp\n"
        "before = np.get_printoptions()\n"
        "isp.builtin_camera('nikon_d5100')\n"
        "assert np.get_printoptions() == before, np.get_printoptions()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
