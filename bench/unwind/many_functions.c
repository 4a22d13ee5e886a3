/* A large .sframe for the table-building benchmark: 50000 functions with
 * varied frames (pushes, stack sizes from 8 to 248 bytes, a frame pointer
 * in every third one), written as assembler macros so that building them
 * takes a second, not the minute gcc needs for 50000 C functions. Built
 * with -Wa,--gsframe, gas turns their CFI into SFrame FDEs. Never run. */

__asm__(
    ".text\n"
    ".macro SHAPED_FUNC n\n"
    "  .globl shaped_\\n\n"
    "  .type shaped_\\n, @function\n"
    "  .p2align 4\n"
    "shaped_\\n:\n"
    "  .cfi_startproc\n"
    "  .if (\\n % 3) == 0\n"
    "    push %rbp\n"
    "    .cfi_def_cfa_offset 16\n"
    "    .cfi_offset %rbp, -16\n"
    "    mov %rsp, %rbp\n"
    "    .cfi_def_cfa_register %rbp\n"
    "    sub $((\\n % 7) * 40 + 8), %rsp\n"
    "    call shaped_leaf\n"
    "    leave\n"
    "    .cfi_def_cfa %rsp, 8\n"
    "  .else\n"
    "    push %rbx\n"
    "    .cfi_def_cfa_offset 16\n"
    "    .cfi_offset %rbx, -16\n"
    "    sub $((\\n % 7) * 40 + 8), %rsp\n"
    "    .cfi_adjust_cfa_offset ((\\n % 7) * 40 + 8)\n"
    "    call shaped_leaf\n"
    "    add $((\\n % 7) * 40 + 8), %rsp\n"
    "    .cfi_adjust_cfa_offset -((\\n % 7) * 40 + 8)\n"
    "    pop %rbx\n"
    "    .cfi_def_cfa_offset 8\n"
    "  .endif\n"
    "  ret\n"
    "  .cfi_endproc\n"
    "  .size shaped_\\n, . - shaped_\\n\n"
    ".endm\n"
    ".altmacro\n"
    ".set shaped_i, 0\n"
    ".rept 50000\n"
    "  SHAPED_FUNC %shaped_i\n"
    "  .set shaped_i, shaped_i + 1\n"
    ".endr\n"
    ".noaltmacro\n");

__attribute__((noinline)) void shaped_leaf(void) { __asm__ volatile(""); }

int main(void) { return 0; }
