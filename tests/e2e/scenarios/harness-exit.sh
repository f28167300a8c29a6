# Harness self-test: a scenario's own exit code reaches run.sh's caller unchanged, and failed
# checks are reported (so a broken harness cannot pass silently).
# e2e-qemu: -machine q35
fail "deliberately failed check"
echo "harness-exit: about to exit 7"
exit 7
