"""Package list for the one `cadenza` namespace (metadata lives in pyproject.toml).

The top-level folders map onto import names: runtime/ -> cadenza.runtime,
sdk/python/ -> cadenza.sdk, scenes/ -> cadenza.scenes, proto/cadenza/v1/ -> cadenza.v1
(the generated wire code). setuptools cannot discover
packages under a prefix from pyproject alone, so they are listed here.
"""

from setuptools import find_packages, setup


def _under(prefix: str, where: str) -> list[str]:
    return [prefix] + [f"{prefix}.{name}" for name in find_packages(where)]


setup(
    packages=_under("cadenza.runtime", "runtime")
    + _under("cadenza.sdk", "sdk/python")
    + ["cadenza.scenes", "cadenza.v1"],
)
