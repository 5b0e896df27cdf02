import ast
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
REPO = "https://github.com/rxunix/rxunix"


def read_version() -> str:
    """``__version__`` from rxunix/_version.py, without importing rxunix (its dependencies may be missing)."""
    tree = ast.parse((HERE / "rxunix" / "_version.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__version__" for t in node.targets):
            return str(ast.literal_eval(node.value))
    raise RuntimeError("rxunix/_version.py defines no __version__")


EXTRAS = {
    "msgpack": ["msgpack>=1.0"],
    "yaml": ["PyYAML>=6.0"],
    "orjson": ["orjson>=3.8"],
    "lz4": ["lz4>=4.0"],
    "zstd": ["zstandard>=0.21"],
    "snappy": ["python-snappy>=0.6"],
    "brotli": ["brotli>=1.0"],
    "notebook": ["ipykernel>=6", "ipywidgets>=8", "matplotlib>=3.7"],
    "metrics": ["prometheus-client>=0.17"],
}
EXTRAS["compression"] = EXTRAS["lz4"] + EXTRAS["zstd"] + EXTRAS["snappy"] + EXTRAS["brotli"]
EXTRAS["codecs"] = EXTRAS["msgpack"] + EXTRAS["yaml"] + EXTRAS["orjson"]
EXTRAS["all"] = sorted({req for reqs in EXTRAS.values() for req in reqs})
# the benchmarks' uvloop rows (not a feature of rxunix, so not in "all")
EXTRAS["bench"] = ["uvloop>=0.17"]
# what the test suite uses: every codec and compression extra and prometheus-client (the
# Prometheus endpoint is scraped), not the notebook stack (only the tox env "nb" installs
# that, with extras = test,notebook)
EXTRAS["test"] = EXTRAS["codecs"] + EXTRAS["compression"] + EXTRAS["metrics"] + [
    "pytest>=7.4",
    "pytest-timeout>=2.2",
    "hypothesis>=6.80",
    "setuptools>=61",  # tests/test_packaging.py reads setup.py's metadata
]

setup(
    name="rxunix",
    version=read_version(),
    description="Reactive stream processing over UNIX domain sockets (ReactiveX + gevent)",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    license_files=["LICENSE"],
    author="rxunix dev",
    author_email="dev@rxunix.invalid",
    url=REPO,
    project_urls={
        "Source": REPO,
        "Issues": f"{REPO}/issues",
        "Changelog": f"{REPO}/blob/main/CHANGELOG.md",
    },
    python_requires=">=3.11",
    packages=find_packages(include=["rxunix", "rxunix.*"]),
    package_data={"rxunix": ["py.typed", "data/*"]},
    install_requires=["reactivex>=4.0.4,<7", "gevent>=23.9", "simplejson>=3.19"],
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["rxunix=rxunix.app.cli:entry"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
        "Framework :: Gevent",
        "Operating System :: POSIX :: Linux",
        "Typing :: Typed",
    ],
)
