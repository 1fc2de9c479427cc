"""The torch program's column gather: its copy-only backward against autograd's own indexing."""
import numpy as np
import pytest
import torch

from qsnn_qiskit.engines._torch_kernels import Columns


@pytest.mark.parametrize("width, src", [
    (8, [3, 0, 7, 1, 6, 2, 5, 4]),      # a permutation: backward gathers by its inverse
    (16, [0, 1, 2, 3]),                 # a selection that looks like the identity of its own length
    (6, [0, 1, 2, 3, 4, 5]),            # the identity: the state itself
    (16, [9, 2, 15, 4, 0]),             # a selection (qubits traced out)
])
@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_gather_and_its_gradient_match_plain_indexing(width, src, dtype):
    generator = torch.Generator().manual_seed(width + len(src))
    state = torch.randn(3, width, dtype=dtype, generator=generator)
    upstream = torch.randn(3, len(src), dtype=dtype, generator=generator)
    ours, theirs = state.clone().requires_grad_(), state.clone().requires_grad_()
    out = Columns(np.array(src), torch.device("cpu"))(ours)
    expected = theirs[:, torch.tensor(src)]
    assert torch.equal(out, expected)
    (out * upstream).real.sum().backward()
    (expected * upstream).real.sum().backward()
    assert torch.equal(ours.grad, theirs.grad)
