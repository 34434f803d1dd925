#!/usr/bin/env bash
# Trains the fixture models under fixtures/models/, one recipe per line below, skipping the
# finished ones (as the workbench's `finished` command says: card.json with a clean accuracy and
# no optimizer state) and resuming the
# half-trained ones from their last epoch checkpoint. Runs up to TRAIN_SLOTS jobs at once
# (default 2, one per core; each training uses one core on the wasm backend), counting
# trainings already running on the machine, and starts an adversarial fine-tune only once
# its source model is finished.
#
#   CIFAR10_DIR=../shared/datasets/cifar10-jpeg bash paper/train-fixtures.sh [name-filter]
#
# Each job is a command of the paper workbench (paper/cli.ts, `npm run workbench -- <command>`).
# Logs go to ${LOG_DIR:-logs}/<name>.log. The recipes are the record of how each fixture was made.
set -u
cd "$(dirname "$0")/.."
LOG_DIR=${LOG_DIR:-logs}
SLOTS=${TRAIN_SLOTS:-2}
LOCKS=${TMPDIR:-/tmp}/vitest-robustness-train-locks
mkdir -p "$LOG_DIR" "$LOCKS"
rm -f "$LOCKS"/*.failed
filter=${1:-}

recipes() {
  # Sized for about 30 minutes per model on one core of the 2-core CPU machine (wasm backend),
  # except ResNet-20, which needs 10 epochs for a usable clean accuracy (about an hour each).
  # VGG16 runs at width 0.125 so that all fixtures stay under the 30 MB budget.
  # Each model is followed by its adversarially trained copy.
  # name | workbench command and arguments
  # Until issue 23 the copies were <arch>-<reg>-adv, the paper's recipe as a short fine-tune
  # (adv-train --count 1000 --clean 9000 --epochs 2 --seed 1: 1,000 training images attacked by
  # each of DeepFool, FGSM and PGD at the Table 1 settings plus 9,000 clean ones, 2 epochs of Adam
  # 3e-4). That left PGD-10 accuracy at 8/255 near 0%, since static images made once from the
  # plain model do not follow the model as it changes; their recipe and weights are in git history
  # (7099f7c) and their Table 1 verdict in paper/records/table1-adv.json. Each plain model is now
  # fine-tuned by on-the-fly adversarial training, one recipe for all twelve, a stated departure
  # from the paper: FGSM from a random start in the eps-ball (Wong, Rice & Kolter 2020: eps 8/255,
  # step 10/255) on every batch of all 45,000 training images (shift/flip augmented), 5 epochs of
  # Adam 1e-3 with cosine decay, a checkpoint every epoch; then compacted to float16. Named
  # <arch>-<reg>-at; they replace the -adv models.
  # Sized from a pilot on resnet20-base (10,000 of the images, 500 test images of the Table 1 spec,
  # PGD-10 at 8/255): 10.8% after one pass (clean 43.6%), 18.4% after two (clean 44.2%); the
  # target is at least 25% for resnet20-base. About 30-45 adversarial images/s for ResNet-20 on one
  # core, so about 1.5-2.5 hours per ResNet-20 or MobileNet model, 40-60 minutes per VGG16.
  local at="--method fgsm-rs --eps 8/255 --epochs 5 --lr 1e-3 --schedule cosine --batch 64 --seed 1"
  local r="--epochs 10 --batch 64 --seed 1"
  local m="--epochs 5 --batch 64 --seed 1"
  local v="--epochs 6 --batch 64 --seed 1"
  # One architecture at a time, so that each finished set completes a row of Table 1 and of
  # Fig. 3: ResNet-20 first (Table 2 needs its four plain models), then VGG16 (the cheaper one),
  # then MobileNet; each architecture's four plain models, then their adversarial copies. A free
  # slot takes the next startable job.
  for arch in "resnet20|--arch resnet --width 0.5|$r" "vgg16|--arch vgg16 --width 0.125|$v" "mobilenet|--arch mobilenet --width 0.25|$m"; do
    IFS='|' read -r id model recipe <<< "$arch"
    for reg in base l1 l2 elasticnet; do
      echo "$id-$reg|train $model --reg $reg $recipe"
    done
    for reg in base l1 l2 elasticnet; do
      echo "$id-$reg-at|adv-train --from fixtures/models/$id-$reg $at"
    done
  done
  # A variant whose factor-0.01 model ends more than 5 points below its base model is
  # kept as it is and also trained with the largest smaller power of ten that stays within 5
  # points (1e-3, then 1e-4, ...), each named by its factor, e.g. resnet20-l1-f1e-3.
  # Cheapest first (VGG16 ~20 min, MobileNet ~40, ResNet-20 ~100 on one core), so that a session
  # ends with finished models rather than several half-trained ones.
  fallbacks vgg16 "--arch vgg16 --width 0.125" "$v"
  fallbacks mobilenet "--arch mobilenet --width 0.25" "$m"
  fallbacks resnet20 "--arch resnet --width 0.5" "$r"
  # Copies of resnet20-base trained further (its 10-epoch recipe, shared by the four ResNet-20
  # variants, leaves it underfit) are kept beside it, so that the paper's comparisons stay between
  # equal runs: 18 epochs (the cosine decay stretched over 18), then 30. Their cards carry their
  # accuracies (fixtures/models/README.md).
  echo "resnet20-base-e18|train --from fixtures/models/resnet20-base --epochs 18"
  echo "resnet20-base-e30|train --from fixtures/models/resnet20-base-e18 --epochs 30"
}

# Clean test accuracy on the card of a finished model (empty if none).
accuracy() { node -e 'try { const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(c.cleanAccuracy ? c.cleanAccuracy.value : ""); } catch { console.log(""); }' "fixtures/models/$1/card.json"; }

fallbacks() {
  local arch=$1 model=$2 recipe=$3 base_acc reg prev f name
  finished "fixtures/models/$arch-base" || return 0
  base_acc=$(accuracy "$arch-base")
  for reg in l1 l2 elasticnet; do
    prev=$arch-$reg
    for f in 1e-3 1e-4 1e-5; do
      finished "fixtures/models/$prev" || break                  # wait for the model before it
      node -e 'process.exit(+process.argv[1] >= +process.argv[2] - 0.05 ? 0 : 1)' "$(accuracy "$prev")" "$base_acc" && break
      name=$arch-$reg-f$f
      echo "$name|train $model --reg $reg --factor $f $recipe"
      prev=$name
    done
  done
}

# TRAIN_WORKBENCH replaces the workbench command (paper/trainFixtures.test.ts runs the script on a stand-in).
read -r -a WORKBENCH <<< "${TRAIN_WORKBENCH:-node_modules/.bin/tsx paper/cli.ts}"
finished() { "${WORKBENCH[@]}" finished "$1" 2> /dev/null; }
# One per training: tsx starts a second node process with the same arguments, so count its launchers only.
running() { pgrep -fc "${TRAIN_RUNNING_PATTERN:-tsx paper/cli.ts (train|adv-train)}" || true; }

run_job() {
  local name=$1 cmd=$2 out=fixtures/models/$1 resume=""
  [ -f "$out/train-state.json" ] && resume="--resume"
  echo "$(date -u +%FT%TZ) start $name $resume" >&2
  # shellcheck disable=SC2086
  "${WORKBENCH[@]}" $cmd --out "$out" $resume >> "$LOG_DIR/$name.log" 2>&1 < /dev/null
  local rc=$?
  # The on-the-fly adversarially trained models are stored as float16 once finished (fixture budget).
  if [ $rc -eq 0 ] && [[ "$name" == *-at ]]; then
    "${WORKBENCH[@]}" compact --model "$out" >> "$LOG_DIR/$name.log" 2>&1 < /dev/null
    rc=$?
  fi
  echo "$(date -u +%FT%TZ) end $name rc=$rc" >&2
  # A failed job is not retried in this run (its log says why); the rest go on.
  [ $rc -eq 0 ] || touch "$LOCKS/$name.failed"
  rm -rf "$LOCKS/$name"
}

while true; do
  pending=0
  while IFS='|' read -r name cmd; do
    [ -n "$filter" ] && [[ "$name" != *$filter* ]] && continue
    finished "fixtures/models/$name" && continue
    [ -f "$LOCKS/$name.failed" ] && continue
    from=$(sed -nE 's/.*--from fixtures\/models\/([^ ]+).*/\1/p' <<< "$cmd")
    [ -n "$from" ] && [ -f "$LOCKS/$from.failed" ] && continue
    pending=1
    if [ -d "$LOCKS/$name" ]; then                          # running now, or left by a run that died
      owner=$(cat "$LOCKS/$name/pid" 2> /dev/null)
      if [ -n "$owner" ] && kill -0 "$owner" 2> /dev/null; then continue; fi
      # A lock is made a moment before its pid is written: one younger than a minute is left alone.
      if [ -z "$owner" ] && [ -n "$(find "$LOCKS/$name" -maxdepth 0 -newermt '-60 seconds' 2> /dev/null)" ]; then continue; fi
      echo "$(date -u +%FT%TZ) clearing the stale lock of $name (its job${owner:+, pid $owner,} is gone)" >&2
      rm -rf "$LOCKS/$name"
    fi
    [ -n "$from" ] && ! finished "fixtures/models/$from" && continue   # its source is not trained yet
    [ "$(running)" -ge "$SLOTS" ] && continue
    mkdir "$LOCKS/$name" 2>/dev/null || continue
    run_job "$name" "$cmd" &
    echo $! 2> /dev/null > "$LOCKS/$name/pid"              # (absent if the job already ended)
    sleep 5                                                 # let it show up in `running`
  done < <(recipes)
  [ $pending -eq 0 ] && break
  # Look again when one of this script's jobs ends, or after TRAIN_POLL_S seconds (trainings started
  # elsewhere): each look starts the workbench about twenty times, about 2 s of CPU each.
  sleep "${TRAIN_POLL_S:-300}" &
  wait -n
  kill $! 2> /dev/null
done
wait
echo "$(date -u +%FT%TZ) all fixtures finished" >&2
