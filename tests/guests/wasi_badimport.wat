;; A command importing something outside WASI: linking must fail with RT_ERROR.
(module
  (import "env" "open_socket" (func $open (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (drop (call $open (i32.const 80)))))
