"""The precision `--precision auto` picks for the devices a machine has."""

from normalgen_training.runtime import _gpu_capabilities, auto_precision


def test_auto_precision_uses_bfloat16_only_where_the_hardware_has_it():
    assert auto_precision([(8, 0)], cpu_bf16=False) == "mixed_bfloat16"  # A100
    assert auto_precision([(9, 0), (8, 6)], cpu_bf16=False) == "mixed_bfloat16"
    assert auto_precision([None], cpu_bf16=False) == "mixed_bfloat16"  # a device that does not say
    assert auto_precision([(7, 5)], cpu_bf16=True) == "mixed_float16"  # RTX 20xx: no bfloat16 arithmetic
    assert auto_precision([(8, 6), (6, 1)], cpu_bf16=False) == "mixed_float16"  # one old GPU decides
    assert auto_precision([(7, 0)], cpu_bf16=False, workers=2) == "float32"  # float16 cannot span machines
    assert auto_precision([], cpu_bf16=True) == "mixed_bfloat16"  # AVX512-BF16 / AMX
    assert auto_precision([], cpu_bf16=False) == "float32"


def test_gpu_capabilities_reads_what_the_backend_says_and_none_where_it_cannot():
    class JaxDevice:
        compute_capability = "7.5"

    assert _gpu_capabilities("jax", [JaxDevice()]) == [(7, 5)]
    assert _gpu_capabilities("jax", [object()]) == [None]
