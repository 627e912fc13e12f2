"""Install the sandboxed grading kernel into this environment: `python -m lstmlab.grading.kernelspec install`."""

import json
import sys
import tempfile
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager

from lstmlab.grading.sandbox import KERNEL_NAME


def install():
    spec = {
        "argv": [sys.executable, "-m", "lstmlab.grading.sandbox", "-f", "{connection_file}"],
        "display_name": "Python 3 (lstmlab grading sandbox)",
        "language": "python",
    }
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "kernel.json").write_text(json.dumps(spec, indent=1))
        return KernelSpecManager().install_kernel_spec(folder, KERNEL_NAME, prefix=sys.prefix)


if __name__ == "__main__":
    if sys.argv[1:] != ["install"]:
        sys.exit("usage: python -m lstmlab.grading.kernelspec install")
    print("installed", install())
