"""Ed25519 signing: ``SigningKey.sign`` (what an append calls once a decision) against the
two libraries' raw rates, measured in the same run: ``cryptography`` (OpenSSL) and
libsodium through PyNaCl.

Messages are 700 bytes, about a stored decision's payload. The variants interleave in
every repetition; the figures are medians of the repetitions.

Run:
    python benchmarks/bench_sign.py --messages 5000 --repeat 11 --json sign.json
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nacl.bindings import crypto_sign, crypto_sign_seed_keypair

from trustledger.ledger.keys import SigningKey
from workload import machine, median, write_json


def rate(sign: Callable[[bytes], bytes], messages: list[bytes]) -> float:
    """Signatures a second."""
    start = time.perf_counter()
    for message in messages:
        sign(message)
    return len(messages) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    private = Ed25519PrivateKey.generate()
    secret = crypto_sign_seed_keypair(private.private_bytes_raw())[1]
    key = SigningKey("bench", private)
    messages = [os.urandom(700) for _ in range(args.messages)]
    variants: dict[str, Callable[[bytes], bytes]] = {
        "SigningKey.sign": key.sign,
        "cryptography (OpenSSL)": private.sign,
        "libsodium (PyNaCl)": lambda message: crypto_sign(message, secret)[:64],
    }
    rates: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.repeat):
        for name, sign in variants.items():
            rates[name].append(rate(sign, messages))
    medians = {name: median(values) for name, values in rates.items()}
    print(f"machine: {machine()}")
    print(f"{args.messages} messages of 700 bytes, {args.repeat} repetitions (medians)")
    openssl = medians["cryptography (OpenSSL)"]
    for name, value in medians.items():
        print(f"{name:28} {value:10,.0f}/s {1e6 / value:7.1f} µs  {value / openssl:5.2f}x OpenSSL")
    write_json(args.json, {"machine": machine(), "rates": rates, "medians": medians})
    return 0


if __name__ == "__main__":
    sys.exit(main())
