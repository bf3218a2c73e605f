;; A command importing fd_write with the wrong type: linking must fail with RT_ERROR.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (drop (call $w (i32.const 0) (i32.const 0)))))
