package tensor

import "errors"

// ErrMemoryLockRejected is wrapped by [LockProcessMemory] when the system
// does not let the process lock its memory in RAM. The fix is to raise the
// limit: `ulimit -l unlimited` in a shell, LimitMEMLOCK=infinity in a
// systemd unit, or `docker run --ulimit memlock=-1`.
var ErrMemoryLockRejected = errors.New("memory lock rejected")
