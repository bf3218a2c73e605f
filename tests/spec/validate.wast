;; Validation rules the upstream files do not all reach: at most one memory in the module's
;; index space, whether it comes from imports, from the memory section, or from both.
(assert_invalid
  (module (import "a" "m1" (memory 1)) (import "a" "m2" (memory 1)))
  "multiple memories")
(assert_invalid
  (module (import "a" "m" (memory 1)) (memory 1))
  "multiple memories")
(assert_invalid
  (module (memory 1) (memory 1))
  "multiple memories")
;; Several tables are fine (reference types), imported and defined alike.
(module
  (import "spectest" "table" (table 10 funcref))
  (table 2 externref)
  (table 3 funcref)
  (func (export "sizes") (result i32 i32 i32)
    (table.size 0) (table.size 1) (table.size 2)))
(assert_return (invoke "sizes") (i32.const 10) (i32.const 2) (i32.const 3))
