;; A module without `_start` (a library, not a command): runs must fail with RT_ERROR.
(module
  (memory (export "memory") 1)
  (func (export "main") (result i32) (i32.const 0)))
