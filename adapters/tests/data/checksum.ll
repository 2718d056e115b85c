; A library slice without `main`, like the musl modules of the simulated private corpora:
; it gets the IR verifier but no differential run. Written by hand for the adapter's tests.
target datalayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-i128:128-f80:128-n8:16:32:64-S128"
target triple = "x86_64-unknown-linux-musl"

define i32 @djb2_checksum(ptr %data, i64 %length) #0 {
entry:
  %state = alloca i32, align 4
  store i32 5381, ptr %state, align 4
  br label %loop

loop:
  %index = phi i64 [ 0, %entry ], [ %next, %body ]
  %done = icmp eq i64 %index, %length
  br i1 %done, label %exit, label %body

body:
  %address = getelementptr inbounds i8, ptr %data, i64 %index
  %byte = load i8, ptr %address, align 1
  %wide = zext i8 %byte to i32
  %hash = load i32, ptr %state, align 4
  %times33 = mul i32 %hash, 33
  %mixed = xor i32 %times33, %wide
  store i32 %mixed, ptr %state, align 4
  %next = add i64 %index, 1
  br label %loop

exit:
  %result = load i32, ptr %state, align 4
  ret i32 %result
}

define i32 @classify(i32 %c) #0 {
entry:
  switch i32 %c, label %other [
    i32 32, label %space
    i32 10, label %space
    i32 9, label %space
  ]

space:
  ret i32 0

other:
  %digit = sub i32 %c, 48
  %is_digit = icmp ult i32 %digit, 10
  %kind = select i1 %is_digit, i32 2, i32 1
  ret i32 %kind
}

attributes #0 = { minsize nounwind optsize "target-cpu"="x86-64" }
