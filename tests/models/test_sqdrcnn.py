"""SQDR-CNN: the paper's parameter counts, forward and backward, encoder structure, input checks."""
import copy

import pytest
import torch

from qsnn_qiskit import SQDRCNN
from qsnn_qiskit.models import build_model, count_trainable
from qsnn_qiskit.spiking import SpikingConvEncoder, phase_encode


@pytest.mark.parametrize("qubits,blocks,expected", [(9, 2, 803), (9, 4, 857), (18, 2, 1190), (18, 4, 1298)])
def test_parameter_counts_match_the_paper(qubits, blocks, expected):
    assert count_trainable(SQDRCNN(n_qubits=qubits, blocks=blocks, n_classes=10, engine="aer")) == expected


def test_encoder_parameter_count_and_rate_output():
    enc = SpikingConvEncoder(in_channels=1, n_features=27, T=10)
    assert count_trainable(enc) == 649
    rates = enc(torch.rand(3, 1, 28, 28))
    assert rates.shape == (3, 27)
    assert ((rates * 10).round() - rates * 10).abs().max() < 1e-5   # multiples of 1/T
    assert rates.min() >= 0 and rates.max() <= 1


def test_forward_backward_reaches_every_parameter():
    torch.manual_seed(0)
    model = SQDRCNN(n_qubits=2, blocks=1, n_classes=3, engine="aer", seed=0)
    # Strong first-layer weights make spikes reach the last IF layer, so gradients flow end to end.
    with torch.no_grad():
        for m in model.encoder.modules():
            if isinstance(m, torch.nn.Conv2d):
                m.weight.abs_().mul_(3.0)
    images = torch.rand(4, 1, 16, 16)
    logits = model(images)
    assert logits.shape == (4, 3) and torch.isfinite(logits).all()
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2, 0])).backward()
    assert model.quantum.weight.grad.abs().sum() > 0
    assert model.head.weight.grad.abs().sum() > 0
    assert model.encoder.features[0].module[0].weight.grad is not None



def test_encoder_fusing_each_neuron_with_its_pool_matches_the_plain_module_sequence():
    """The encoder runs each IF neuron and the 2x2 max pool after it as one step; the same modules
    run one by one (nn.Sequential) give the same rates, parameter gradients and BatchNorm statistics."""
    torch.manual_seed(0)
    fused = SpikingConvEncoder(n_features=6, T=6, K=4)
    with torch.no_grad():                                   # spikes in every block, so every pool routes
        for m in fused.modules():
            if isinstance(m, torch.nn.Conv2d):
                m.weight.abs_().mul_(2.0)
    plain = copy.deepcopy(fused)
    images = torch.rand(3, 1, 15, 13)                      # odd sizes: the pools drop an edge
    rates = fused(images)
    spikes = phase_encode(images, plain.T, plain.K)
    expected = torch.nn.Sequential.forward(plain.features, spikes).mean(0)
    upstream = torch.randn_like(rates)
    (rates * upstream).sum().backward()
    (expected * upstream).sum().backward()
    assert torch.equal(rates, expected) and 0 < rates.mean() < 1
    for (name, p), q in zip(fused.named_parameters(), plain.parameters()):
        assert p.grad.abs().sum() > 0 and torch.allclose(p.grad, q.grad, rtol=1e-5, atol=1e-7), name
    for (name, b), c in zip(fused.named_buffers(), plain.buffers()):
        assert torch.equal(b, c), name
    # the keys of the plain sequence, so checkpoints from before the fusion load
    assert {"features.1.lif.threshold", "features.3.module.0.weight", "features.9.module.2.bias"} <= set(fused.state_dict())

def test_relu_logits_option_clips_negative_scores():
    model = SQDRCNN(n_qubits=2, blocks=1, n_classes=4, engine="aer", seed=0, relu_logits=True)
    with torch.no_grad():
        model.head.bias.fill_(-5.0)
    assert (model(torch.rand(2, 1, 8, 8)) >= 0).all()


def test_rgb_inputs_and_sqnn_width():
    model = SQDRCNN(n_qubits=2, blocks=1, ansatz="sqnn", in_channels=3, n_classes=2, engine="aer")
    assert model.encoder.n_features == 2
    assert model(torch.rand(2, 3, 8, 8)).shape == (2, 2)


def test_bad_model_inputs_are_refused():
    model = SQDRCNN(n_qubits=2, blocks=1, n_classes=2, engine="aer")
    with pytest.raises(ValueError, match=r"shape \(batch, 1, H, W\)"):
        model(torch.rand(2, 3, 8, 8))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model(torch.rand(2, 1, 8, 8) * 2)
    with pytest.raises(ValueError, match="at least 8x8"):
        model(torch.rand(2, 1, 4, 4))
    with pytest.raises(ValueError, match="n_classes must be an integer >= 2"):
        SQDRCNN(n_qubits=2, blocks=1, n_classes=1, engine="aer")
    with pytest.raises(ValueError, match="unknown model 'resnet'"):
        build_model("resnet")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_training_step_matches_cpu():
    """One forward + backward of SQDR-CNN (fused IF neurons, torch engine) on CUDA against the CPU."""
    torch.manual_seed(0)
    cpu = SQDRCNN(n_qubits=3, blocks=2, n_classes=3, engine="torch", seed=0, T=4)
    with torch.no_grad():
        for m in cpu.encoder.modules():
            if isinstance(m, torch.nn.Conv2d):
                m.weight.abs_().mul_(3.0)
    gpu = SQDRCNN(n_qubits=3, blocks=2, n_classes=3, engine="torch", seed=0, T=4)
    gpu.load_state_dict(cpu.state_dict())
    gpu = gpu.cuda()
    images, labels = torch.rand(4, 1, 16, 16), torch.tensor([0, 1, 2, 0])
    for model, x, y in ((cpu, images, labels), (gpu, images.cuda(), labels.cuda())):
        torch.nn.functional.cross_entropy(model(x), y).backward()
    for (name, p_cpu), p_gpu in zip(cpu.named_parameters(), gpu.parameters()):
        assert p_gpu.grad.device.type == "cuda"
        torch.testing.assert_close(p_gpu.grad.cpu(), p_cpu.grad, rtol=1e-4, atol=1e-5, msg=name)
