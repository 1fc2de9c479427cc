"""SQDR-CNN's baselines of the same shape: the classical stand-in (widths and weight count of the
re-upload circuit, outputs in [-1, 1], gradients), no layer at all, and the product circuit; each
trains, and none of the stand-ins takes an engine or noise."""
import pytest
import torch

from qsnn_qiskit import SQDRCNN
from qsnn_qiskit.circuits import build_ansatz
from qsnn_qiskit.models import ClassicalReupload, Passthrough, build_model, count_trainable

SIZES = [(1, 1), (2, 1), (3, 2), (9, 2), (9, 4), (18, 2), (18, 4)]


@pytest.mark.parametrize("qubits,blocks", SIZES)
def test_classical_layer_has_the_circuits_widths_and_exactly_its_weight_count(qubits, blocks):
    layer, circuit = ClassicalReupload(qubits, blocks), build_ansatz("reupload", qubits, blocks)
    assert count_trainable(layer) == circuit.n_weights == 3 * qubits * blocks
    assert (layer.n_inputs, layer.n_outputs) == (circuit.n_inputs, circuit.n_outputs)


@pytest.mark.parametrize("qubits,blocks,expected", [(9, 2, 803), (9, 4, 857), (18, 2, 1190), (18, 4, 1298)])
def test_classical_model_has_the_papers_parameter_counts(qubits, blocks, expected):
    assert count_trainable(SQDRCNN(n_qubits=qubits, blocks=blocks, ansatz="classical")) == expected


def test_classical_layer_is_the_documented_recurrence_and_bounded():
    layer = ClassicalReupload(3, 2, seed=0)
    x = torch.rand(5, 9, dtype=torch.float64) * 40 - 20   # far outside the rates' [0, 1]
    w = layer.weight.detach().double()
    a = torch.zeros(5, 3, dtype=torch.float64)
    for b in range(2):
        a = torch.tanh(a + torch.stack([x[:, 3 * j:3 * j + 3] @ w[b, j] for j in range(3)], 1))
    out = layer(x)
    assert out.shape == (5, 3) and out.dtype == torch.float64
    torch.testing.assert_close(out, a)
    assert out.abs().max() <= 1


def test_classical_layer_output_sees_only_its_qubits_features_and_gradients_flow():
    layer = ClassicalReupload(3, 2, seed=1)
    x = torch.rand(4, 9, requires_grad=True)
    layer(x)[:, 0].sum().backward()
    assert x.grad[:, :3].abs().sum() > 0 and x.grad[:, 3:].abs().sum() == 0
    assert layer.weight.grad[:, 0].abs().sum() > 0 and layer.weight.grad[:, 1:].abs().sum() == 0


def test_classical_layer_is_seeded_and_refuses_a_wrong_width():
    assert torch.equal(ClassicalReupload(4, 2, seed=3).weight, ClassicalReupload(4, 2, seed=3).weight)
    assert ClassicalReupload(4, 2, seed=3).weight.abs().max() <= 3 ** -0.5
    with pytest.raises(ValueError, match=r"must have shape \(batch, 6\); got \(2, 5\)"):
        ClassicalReupload(2, 1)(torch.rand(2, 5))


def test_none_feeds_the_encoder_rates_to_the_head():
    model = SQDRCNN(n_qubits=9, blocks=2, ansatz="none", n_classes=10, seed=0)
    assert model.quantum is None and isinstance(model.stand_in, Passthrough)
    assert model.head.in_features == model.encoder.n_features == 27
    assert count_trainable(model) == 649 + 27 * 10 + 10   # the encoder and the head, nothing between
    images = torch.rand(3, 1, 28, 28)
    logits = model(images)
    assert logits.shape == (3, 10)
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2])).backward()
    assert model.head.weight.grad is not None and model.encoder.features[0].module[0].weight.grad is not None


def test_classical_model_forward_backward_reaches_the_stand_in():
    torch.manual_seed(0)    # the encoder's initial weights and the images: not the tests run before
    model = SQDRCNN(n_qubits=2, blocks=1, ansatz="classical", n_classes=3, seed=0)
    assert model.quantum is None and model.core is model.stand_in
    with torch.no_grad():   # strong first-layer weights make spikes reach the last IF layer
        for m in model.encoder.modules():
            if isinstance(m, torch.nn.Conv2d):
                m.weight.abs_().mul_(3.0)
    logits = model(torch.rand(4, 1, 16, 16))
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2, 0])).backward()
    assert model.stand_in.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("ansatz", ["product", "classical", "none"])
def test_one_training_step_lowers_the_loss(ansatz, digits):
    torch.manual_seed(0)
    model = build_model("sqdrcnn", n_qubits=2, blocks=1, ansatz=ansatz, n_classes=3, seed=0)
    images, labels = digits[:12], torch.arange(12) % 3
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    loss = torch.nn.functional.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        after = torch.nn.functional.cross_entropy(model(images), labels)
    assert after < loss.detach()


@pytest.mark.parametrize("ansatz", ["classical", "none"])
@pytest.mark.parametrize("options, named", [({"engine": "aer"}, "engine='aer'"),
                                            ({"noise": "reference"}, "noise='reference'"),
                                            ({"device": "cuda"}, "device='cuda'")])
def test_stand_ins_refuse_engines_and_engine_options(ansatz, options, named):
    with pytest.raises(ValueError, match=rf"ansatz '{ansatz}' has no circuit .* got {named}\. Other engines and "
                                         r"noise need a circuit ansatz: reupload, hea, sqnn, product"):
        SQDRCNN(n_qubits=2, blocks=1, ansatz=ansatz, n_classes=2, **options)
    with pytest.raises(ValueError, match="takes no ansatz_options"):
        SQDRCNN(n_qubits=2, blocks=1, ansatz=ansatz, n_classes=2, ansatz_options={"entangler": "chain"})


def test_product_model_is_a_circuit_model_of_the_same_size():
    model = SQDRCNN(n_qubits=9, blocks=2, ansatz="product")
    assert model.stand_in is None and model.quantum.ansatz.name == "product"
    assert count_trainable(model) == 803
