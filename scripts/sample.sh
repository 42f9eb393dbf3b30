#!/usr/bin/env bash
# The README's sample job: a realistic day of a trust-purchase programme on the embedded
# SQLite default. Keys, a ledger, a few hundred decisions about dozens of shops, an
# idempotent resend, a rejected batch, a key revocation, an erasure, a verify that an
# auditor would run with the root's public key only, and the shops' standings rebuilt from
# the events (CSV, HTML, digest). Everything lands in ./sample/.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
command -v trustledger >/dev/null || { echo "trustledger is not on PATH (pip install . first)" >&2; exit 2; }

rm -rf sample && mkdir -p sample && cd sample
export TRUSTLEDGER_KEY_PASSPHRASE=${TRUSTLEDGER_KEY_PASSPHRASE:-sample-passphrase-change-me}
export TRUSTLEDGER_DB=sqlite:///ledger.db
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. keys: the root (pins the ledger) and two deciders"
trustledger keys generate root --out keys/
trustledger keys generate enforcement-bot --out keys/
trustledger keys generate reviewer-17 --out keys/
trustledger keys generate log --out keys/          # signs checkpoints (tree heads)
trustledger keys generate witness-1 --out keys/    # a third party that cosigns them

step "2. a new ledger with the root key pinned; the deciders registered under it"
trustledger init --root-key keys/root.key
trustledger keys register keys/enforcement-bot.pub --by keys/root.key
trustledger keys register keys/reviewer-17.pub --by keys/root.key

step "3. decisions: verifications, complaints, penalties, appeals (JSON Lines)"
"$PY" ../scripts/make_sample.py --shops 40 --out decisions.jsonl
head -n 300 decisions.jsonl > part-1.jsonl
tail -n +301 decisions.jsonl > part-2.jsonl
trustledger append --key keys/enforcement-bot.key part-1.jsonl > /dev/null
trustledger append --key keys/reviewer-17.key - < part-2.jsonl > /dev/null

step "4. a retry of the same batch is a no-op that answers with the original positions"
trustledger append --key keys/enforcement-bot.key part-1.jsonl --json | tail -n 3

step "5. a bad batch is rejected whole, every bad line named, nothing written (exit 4)"
{
  sed -n 1p part-2.jsonl
  echo '{"decision_id": "11111111-2222-4333-8444-555555555555", "type": "penalty.imposed", "shop_id": "shop-10001", "occurred_at": "2026-06-01T00:00:00Z", "data": {"penalty_id": "p-x", "violation": "counterfeit", "severity": "serious", "measures": [{"type": "suspend"}]}}'
  echo '{"decision_id": "not-a-uuid", "type": "shop.closed", "shop_id": "shop-10002", "occurred_at": "2026-06-01T00:00:00Z", "data": {}}'
} > bad.jsonl
if trustledger append --key keys/enforcement-bot.key bad.jsonl; then
  echo "expected the bad batch to be rejected" >&2; exit 1
else
  echo "(rejected with exit $? as expected)"
fi

step "6. a decider key is revoked; what it signed before stays valid"
trustledger keys revoke "$(trustledger keys list --json | "$PY" -c 'import json,sys; print([k["key_id"] for k in json.load(sys.stdin) if k["name"] == "reviewer-17"][0])')" \
  --by keys/root.key --reason "reviewer left the team"
trustledger keys list

step "7. one shop's history"
trustledger log --shop shop-10007

step "8. a buyer asks to be forgotten (PIPL / GDPR): their key is destroyed"
trustledger erase buyer-7

step "9. the auditor verifies with the root's public key only"
trustledger verify --trusted-key "$(tail -n 1 keys/root.pub)"

step "10. the report pipeline: every shop's standing, rebuilt from the events alone"
trustledger projections rebuild
trustledger standing shop-10007 --as-of 2026-04-01T00:00:00Z
trustledger report standings --format csv --out standings.csv
trustledger report standings --format html --out standings.html
echo "standings digest: $(trustledger report standings --digest)"
echo "wrote sample/standings.csv and sample/standings.html (open it in a browser)"
trustledger report actions --format csv --out actions.csv
trustledger report actions --format html --out actions.html
echo "wrote sample/actions.csv and sample/actions.html: the work queue, most urgent first"

step "11. the verifiable log: a signed checkpoint, cosigned by a witness, an offline bundle"
trustledger checkpoint --key keys/log.key --out latest.checkpoint
trustledger witness cosign latest.checkpoint --key keys/witness-1.key --state witness-1/ \
  --log-key keys/log.pub --out cosigned.checkpoint
trustledger checkpoint add-cosignatures cosigned.checkpoint
DECISION=$(sed -n 10p decisions.jsonl | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["decision_id"])')
trustledger prove inclusion "$DECISION" --out one-decision.proof
trustledger verify --proof one-decision.proof --log-key "$(tail -n 1 keys/log.pub)" \
  --witness-key "$(tail -n 1 keys/witness-1.pub)" --quorum 1
trustledger export --out audit.bundle
trustledger verify --bundle audit.bundle --trusted-key "$(tail -n 1 keys/root.pub)" \
  --log-key "$(tail -n 1 keys/log.pub)" --witness-key "$(tail -n 1 keys/witness-1.pub)" --quorum 1 \
  --origin log
echo "wrote sample/audit.bundle: an auditor verifies it with no database"
