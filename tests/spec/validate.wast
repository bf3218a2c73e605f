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

;; Names are byte strings: a NUL inside one is part of it. Two exports that differ only after
;; a NUL are distinct (not duplicates), and an import whose name holds a NUL does not match a
;; shorter host name.
(module
  (func (export "a\00x") (result i32) (i32.const 1))
  (func (export "a\00y") (result i32) (i32.const 2))
  (func (export "a") (result i32) (i32.const 3))
  (func (export "\00") (result i32) (i32.const 4)))
(assert_return (invoke "a\00x") (i32.const 1))
(assert_return (invoke "a\00y") (i32.const 2))
(assert_return (invoke "a") (i32.const 3))
(assert_return (invoke "\00") (i32.const 4))
(assert_invalid
  (module (func (export "a\00x")) (func (export "a\00x")))
  "duplicate export name")
(assert_unlinkable
  (module (import "spectest" "print_i32\00" (func (param i32))))
  "unknown import")
(assert_unlinkable
  (module (import "spectest\00" "print_i32" (func (param i32))))
  "unknown import")
