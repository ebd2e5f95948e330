"""The C scanner under AddressSanitizer and UBSan, fed mutated XES: no memory error, ever.

The scanner reads untrusted bytes, so every mutation (bytes flipped, cut, inserted: stray
`&`, `<`, quotes, broken UTF-8, huge character references, text inside values) must end in
columns or in `Unsupported`, never in a read or write out of bounds. The module is compiled
here a second time with the sanitizers and run in a child process that preloads libasan.
"""

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "pipelines" / "_xesscan.c"
DATA = ROOT / "tests" / "data"

_FUZZ = r"""
import gzip, importlib.util, random, re, sys
spec = importlib.util.spec_from_file_location("_xesscan", sys.argv[1])
scanner = importlib.util.module_from_spec(spec)
spec.loader.exec_module(scanner)
data = sys.argv[2]
texts = [
    open(f"{data}/roadtraffic100traces.xes", "rb").read(),
    open(f"{data}/running-example.xes", "rb").read(),
    gzip.decompress(open(f"{data}/receipt.xes.gz", "rb").read()),
]
bodies = [t[t.index(b"<trace") : t.rindex(b"</trace>", 0, 400_000) + 8] + b"</log>" for t in texts]
bad = [b"&", b"<", b">", b'"', b"'", b"&#x10FFFF;", b"&#0;", b"\xff", b"\xc3", b"\xe2\x82",
       b"</trace>", b"<trace>", b"<event>", b"</event>", b"/>", b" ", b"=", b"\x00", b"&#",
       b";", b"&#xD800;", b"&#99999999999;", b"<int key=\"x\" value=\"99999999999999999999\"/>"]
good = [b"a", b"&amp;", b"&#233;", "\u00e9".encode(), "\u20ac".encode(),
        "\U0001f600".encode(), b"1", b" ", b"&lt;", b"&#x1F600;"]
rng = random.Random(int(sys.argv[3]))
accepted = refused = 0
for _ in range(int(sys.argv[4])):
    body = bytearray(rng.choice(bodies))
    values = [m.span(1) for m in re.finditer(rb'value="([^"]*)"', body)]
    for _ in range(rng.randint(0, 6)):
        roll, pos = rng.random(), rng.randrange(len(body))
        if roll < 0.5 and values:
            start, end = rng.choice(values)
            if start < end <= len(body):
                at = rng.randrange(start, end)
                body[at : at + 1] = rng.choice(good)
        elif roll < 0.7:
            body[pos:pos] = rng.choice(bad)
        elif roll < 0.85:
            del body[pos : pos + rng.randint(1, 30)]
        else:
            body[pos] = rng.randrange(256)
    body = bytes(body)
    cuts = [m.end() for m in re.finditer(rb"</trace>", body)]
    parser = scanner.Parser()
    try:
        if cuts and rng.random() < 0.7:
            cut = rng.choice(cuts)
            parser.feed(body[:cut])
            parser.feed(body[cut:])
        else:
            parser.feed(body)
        parser.finish()
        accepted += 1
    except scanner.Unsupported:
        refused += 1
print(accepted, refused)
"""


def _sanitizer_runtime() -> str | None:
    compiler = shutil.which("gcc")
    if compiler is None:
        return None
    found = subprocess.run(
        [compiler, "-print-file-name=libasan.so"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return found if os.path.isabs(found) and os.path.exists(found) else None


@pytest.mark.slow
def test_mutated_documents_cause_no_memory_error(tmp_path: Path) -> None:
    runtime = _sanitizer_runtime()
    if runtime is None:
        pytest.skip("gcc with AddressSanitizer is not installed")
    module = tmp_path / f"_xesscan{sysconfig.get_config_var('EXT_SUFFIX')}"
    include = sysconfig.get_paths()["include"]
    flags = ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
    subprocess.run(
        ["gcc", *flags, "-shared", "-fPIC", f"-I{include}", str(SOURCE), "-o", str(module)],
        check=True,
        timeout=120,
    )
    env = {**os.environ, "LD_PRELOAD": runtime, "ASAN_OPTIONS": "detect_leaks=0"}
    done = subprocess.run(
        [sys.executable, "-c", _FUZZ, str(module), str(DATA), "11", "1500"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    accepted, refused = map(int, done.stdout.split())
    assert accepted > 100 and refused > 100  # both ends of the scanner were exercised
