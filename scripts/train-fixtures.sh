#!/usr/bin/env bash
# Trains the fixture models under fixtures/models/, one recipe per line below, skipping the
# finished ones (card.json with a clean accuracy and no optimizer state) and resuming the
# half-trained ones from their last epoch checkpoint. Start it once per core you can spare:
# two workers share the list through lock folders and never train the same model.
#
#   CIFAR10_DIR=../shared/datasets/cifar10-jpeg bash scripts/train-fixtures.sh [name-filter]
#
# Logs go to ${LOG_DIR:-logs}/<name>.log. The recipes are the record of how each fixture was made.
set -u
cd "$(dirname "$0")/.."
LOG_DIR=${LOG_DIR:-logs}
LOCKS=${TMPDIR:-/tmp}/vitest-robustness-train-locks
mkdir -p "$LOG_DIR" "$LOCKS"
filter=${1:-}

recipes() {
  # Sized for about 30 minutes per model on one core of the 2-core CPU machine (wasm backend),
  # except ResNet-20, which needs 10 epochs for a usable clean accuracy (about an hour each).
  # VGG16 runs at width 0.125 so that all fixtures stay under the 30 MB budget.
  # name | robustness train arguments
  local common="--epochs 10 --batch 64 --seed 1"
  echo "resnet20-base|--arch resnet --width 0.5 --reg base $common"
  echo "resnet20-l1|--arch resnet --width 0.5 --reg l1 $common"
  echo "resnet20-l2|--arch resnet --width 0.5 --reg l2 $common"
  echo "resnet20-elasticnet|--arch resnet --width 0.5 --reg elasticnet $common"
  local m="--epochs 5 --batch 64 --seed 1"
  echo "mobilenet-base|--arch mobilenet --width 0.25 --reg base $m"
  echo "mobilenet-l1|--arch mobilenet --width 0.25 --reg l1 $m"
  echo "mobilenet-l2|--arch mobilenet --width 0.25 --reg l2 $m"
  echo "mobilenet-elasticnet|--arch mobilenet --width 0.25 --reg elasticnet $m"
  local v="--epochs 6 --batch 64 --seed 1"
  echo "vgg16-base|--arch vgg16 --width 0.125 --reg base $v"
  echo "vgg16-l1|--arch vgg16 --width 0.125 --reg l1 $v"
  echo "vgg16-l2|--arch vgg16 --width 0.125 --reg l2 $v"
  echo "vgg16-elasticnet|--arch vgg16 --width 0.125 --reg elasticnet $v"
}

finished() { [ -f "$1/card.json" ] && grep -q '"cleanAccuracy"' "$1/card.json" && [ ! -f "$1/optimizer.json" ]; }

recipes | while IFS='|' read -r name args; do
  [ -n "$filter" ] && [[ "$name" != *$filter* ]] && continue
  out=fixtures/models/$name
  finished "$out" && continue
  mkdir "$LOCKS/$name" 2>/dev/null || continue   # another worker has it
  resume=""
  [ -f "$out/train-state.json" ] && resume="--resume"
  echo "$(date -u +%FT%TZ) start $name $resume" >&2
  # shellcheck disable=SC2086
  node bin/robustness.js train $args --out "$out" $resume >> "$LOG_DIR/$name.log" 2>&1
  rc=$?
  echo "$(date -u +%FT%TZ) end $name rc=$rc" >&2
  rmdir "$LOCKS/$name"
  [ $rc -eq 0 ] || exit $rc
done
