package tensor

import "errors"

// ErrMemoryLockRefused is wrapped by [LockProcessMemory] when the system
// does not let the process lock its memory in RAM. The fix is to raise the
// limit: `ulimit -l unlimited` in a shell, LimitMEMLOCK=infinity in a
// systemd unit, or `docker run --ulimit memlock=-1`.
var ErrMemoryLockRefused = errors.New("memory lock refused")
