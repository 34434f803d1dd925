#!/usr/bin/python3
"""Exports the ONNX fixtures of src/models/onnx's tests and the ONNX example spec.

Four small CIFAR-sized PyTorch models, exported with torch.onnx, each with PyTorch's own outputs,
cross-entropy input gradients and FGSM predictions on a few fixed inputs, so the JavaScript tests
compare against PyTorch without needing Python:

  resnet       a ResNet with batch norm, briefly trained on CIFAR-10 (JPEG q75 copy), normalized
               outside the model (mean/std declared in resnet.card.json), x.view(x.size(0), -1)
               before the classifier (PyTorch's Shape/Gather/Unsqueeze/Concat/Reshape chain)
  mobilenet    MobileNetV2-style inverted residuals, exported keeping its BatchNormalization nodes: ReLU6, depthwise convs (one with a channel
               multiplier), squeeze-excitation with Hardsigmoid, Hardswish, Flatten, Dropout
  vgg          a VGG-style net exported at opset 10 (attribute forms of Clip and Pad): dilated and
               grouped convs, LeakyReLU, pools with padding and ceil_mode, Sigmoid, Flatten of a
               2x2 map, a Softmax output (a probabilities model)
  normalized   input normalization inside the model (Sub/Div), reflect and asymmetric Pad, Concat,
               a channel shuffle (Reshape/Transpose), MatMul

Run: /usr/bin/python3 scripts/export-onnx-fixtures.py [--data ../shared/datasets/cifar10-jpeg]
(Debian: apt-get install -y python3-torch python3-torchvision python3-onnx). Deterministic for a
given PyTorch build (seeded; one thread).
"""
import argparse
import base64
import json
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'onnx')
FGSM_EPS = 8 / 255
CIFAR_MEAN = [0.4914, 0.4822, 0.4465]
CIFAR_STD = [0.2470, 0.2435, 0.2616]
N_INPUTS = 4


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.layer1 = BasicBlock(16, 16, 1)
        self.layer2 = BasicBlock(16, 32, 2)
        self.layer3 = BasicBlock(32, 64, 2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = self.pool(x)
        return self.fc(x.view(x.size(0), -1))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand, multiplier=1, se=False):
        super().__init__()
        hidden = cin * expand
        self.residual = stride == 1 and cin == cout
        self.expand = nn.Sequential(nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6())
        dw = hidden * multiplier
        self.depthwise = nn.Sequential(nn.Conv2d(hidden, dw, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(dw), nn.ReLU6())
        self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(dw, 8, 1), nn.ReLU(), nn.Conv2d(8, dw, 1), nn.Hardsigmoid()) if se else None
        self.project = nn.Sequential(nn.Conv2d(dw, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.depthwise(self.expand(x))
        if self.se is not None:
            y = y * self.se(y)
        y = self.project(y)
        return x + y if self.residual else y


class MobileNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU6())
        self.block1 = InvertedResidual(16, 16, 1, 4)
        self.block2 = InvertedResidual(16, 24, 2, 3, multiplier=2, se=True)
        self.block3 = InvertedResidual(24, 24, 1, 2)
        self.head = nn.Sequential(nn.Conv2d(24, 48, 1, bias=False), nn.BatchNorm2d(48), nn.Hardswish())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(48, 10)

    def forward(self, x):
        x = self.head(self.block3(self.block2(self.block1(self.stem(x)))))
        return self.fc(self.dropout(torch.flatten(self.pool(x), 1)))


class Vgg(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 16, 3, padding=2, dilation=2)
        self.conv3 = nn.Conv2d(16, 32, 3, padding=1, groups=2)
        self.avg = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
        self.conv4 = nn.Conv2d(32, 32, 3, padding=1)
        self.conv5 = nn.Conv2d(32, 32, 3, stride=2, padding=1)
        self.fc1 = nn.Linear(32 * 2 * 2, 64)
        self.dropout = nn.Dropout(0.5)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.leaky_relu(self.bn1(self.conv1(x)), 0.1)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # 16x16
        x = self.avg(F.relu6(self.conv3(x)))
        x = F.max_pool2d(x, 3, stride=2, padding=1)  # 8x8
        x = self.conv4(x)
        x = x * torch.sigmoid(x)
        x = F.max_pool2d(x, 3, stride=2, ceil_mode=True)  # 4x4 (floor would give 3x3)
        x = self.conv5(x)  # 2x2
        x = self.dropout(F.relu(self.fc1(torch.flatten(x, 1))))
        return F.softmax(self.fc2(x), dim=1)


class Normalized(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer('mean', torch.tensor([0.4914, 0.4822, 0.4465]).view(1, 3, 1, 1))
        self.register_buffer('std', torch.tensor([0.2470, 0.2435, 0.2616]).view(1, 3, 1, 1))
        self.conv1 = nn.Conv2d(3, 24, 3)
        self.a = nn.Conv2d(24, 12, 1)
        self.b = nn.Conv2d(24, 12, 3, padding=1)
        self.conv2 = nn.Conv2d(24, 32, 3, stride=2)
        self.w = nn.Parameter(torch.randn(32, 10) * 0.2)
        self.bias = nn.Parameter(torch.randn(10) * 0.1)

    def forward(self, x):
        x = (x - self.mean) / self.std
        x = F.relu(self.conv1(F.pad(x, (1, 1, 1, 1), mode='reflect')))
        x = torch.cat([self.a(x), self.b(x)], 1)
        n, c, h, w = x.shape
        x = x.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous().view(n, c, h, w)
        x = self.conv2(F.pad(x, (0, 1, 0, 1)))  # TensorFlow-style 'same' for stride 2: pad right/bottom only
        x = F.relu(x * 0.5 + x)
        x = F.adaptive_avg_pool2d(F.max_pool2d(x, 2), 1)
        return torch.matmul(x.view(x.size(0), -1), self.w) + self.bias


def randomize_batch_norm(model, gen):
    # Fresh batch norms are identities in eval mode; random statistics make the test see them.
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(c, generator=gen) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(c, generator=gen) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(c, generator=gen) * 0.1)


def load_split(root, split, per_class):
    from PIL import Image
    xs, ys = [], []
    for label, name in enumerate(CLASSES):
        folder = os.path.join(root, split, name)
        files = sorted(os.listdir(folder))[:per_class]
        for f in files:
            xs.append(np.asarray(Image.open(os.path.join(folder, f)).convert('RGB'), dtype=np.uint8))
            ys.append(label)
    x = torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).float() / 255
    return x, torch.tensor(ys)


def train_resnet(model, root, epochs, per_class, mean, std, gen):
    x, y = load_split(root, 'train', per_class)
    xt, yt = load_split(root, 'test', 500)
    norm = lambda t: (t - mean) / std
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)
    steps = epochs * ((len(x) + 127) // 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=steps)
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), 128):
            idx = perm[i:i + 128]
            xb = x[idx]
            flip = torch.rand(len(idx), generator=gen) < 0.5
            xb[flip] = xb[flip].flip(3)
            loss = F.cross_entropy(model(norm(xb)), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if (i // 128) % 50 == 0:
                print(f'  epoch {epoch + 1} batch {i // 128}: loss {loss.item():.3f}', flush=True)
        model.eval()
        with torch.no_grad():
            acc = sum((model(norm(xt[i:i + 500])).argmax(1) == yt[i:i + 500]).sum().item() for i in range(0, len(xt), 500)) / len(xt)
        print(f'resnet epoch {epoch + 1}/{epochs}: loss {loss.item():.3f}, test accuracy {acc:.4f} ({len(xt)} images)', flush=True)
    return acc, len(xt), len(x)


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a, dtype='<f4').tobytes()).decode('ascii')


def reference(model, x01, labels, pre, output):
    """PyTorch's outputs, input gradients of the batch-summed cross-entropy and FGSM predictions."""
    x = x01.clone().requires_grad_(True)
    out = model(pre(x))
    logp = torch.log(out.clamp_min(1e-30)) if output == 'probabilities' else F.log_softmax(out, 1)
    loss = F.nll_loss(logp, labels, reduction='sum')
    (grad,) = torch.autograd.grad(loss, x)
    adv = (x01 + FGSM_EPS * grad.sign()).clamp(0, 1)
    with torch.no_grad():
        adv_pred = model(pre(adv)).argmax(1)
    nhwc = lambda t: t.detach().permute(0, 2, 3, 1).numpy()
    return {
        'shape': list(nhwc(x01).shape),
        'inputNHWC': b64(nhwc(x01)),
        'labels': labels.tolist(),
        'outputs': b64(out.detach().numpy()),
        'outputKind': output,
        'gradientNHWC': b64(nhwc(grad)),
        'fgsm': {'eps': FGSM_EPS, 'cleanPredictions': out.argmax(1).tolist(), 'adversarialPredictions': adv_pred.tolist()},
    }


def export(name, model, opset, pre, output, seed, card, keep_batch_norm=False):
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    path = os.path.join(OUT, f'{name}.onnx')
    dummy = torch.rand(2, 3, 32, 32, generator=gen)
    # In EVAL mode the exporter folds each batch norm into the conv before it; PRESERVE (with the
    # model in eval mode) keeps BatchNormalization nodes, as other exporters and older models have.
    training = torch.onnx.TrainingMode.PRESERVE if keep_batch_norm else torch.onnx.TrainingMode.EVAL
    torch.onnx.export(model, dummy, path, input_names=['input'], output_names=['output'], opset_version=opset, training=training,
                      dynamic_axes={'input': {0: 'batch'}, 'output': {0: 'batch'}}, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))
    ops = sorted({n.op_type for n in onnx.load(path).graph.node})
    # Smooth random images (a blurred noise field) rather than white noise, so the gradients look
    # like those of natural images; no CIFAR image is committed.
    noise = torch.rand(N_INPUTS, 3, 8, 8, generator=gen)
    x01 = F.interpolate(noise, size=(32, 32), mode='bilinear', align_corners=False).clamp(0, 1)
    labels = torch.arange(N_INPUTS) % 10
    ref = reference(model, x01, labels, pre, output)
    ref.update({'model': f'{name}.onnx', 'opset': opset, 'operators': ops, 'torch': torch.__version__})
    with open(os.path.join(OUT, f'{name}.reference.json'), 'w') as f:
        json.dump(ref, f, indent=1)
        f.write('\n')
    if card is not None:
        with open(os.path.join(OUT, f'{name}.card.json'), 'w') as f:
            json.dump(card, f, indent=2)
            f.write('\n')
    print(f'{name}: opset {opset}, {os.path.getsize(path)} bytes, operators {", ".join(ops)}', flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', default=os.path.join(OUT, '..', '..', '..', 'shared', 'datasets', 'cifar10-jpeg'))
    ap.add_argument('--epochs', type=int, default=2)
    ap.add_argument('--per-class', type=int, default=2000, help='training images per class for the resnet')
    ap.add_argument('--only', nargs='*', default=['resnet', 'mobilenet', 'vgg', 'normalized'], help='fixtures to export')
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    identity = lambda t: t

    mean = torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR_STD).view(1, 3, 1, 1)
    if 'resnet' in args.only:
        export_resnet(args, mean, std)
    if 'mobilenet' in args.only:
        torch.manual_seed(2)
        mobilenet = MobileNet()
        randomize_batch_norm(mobilenet, torch.Generator().manual_seed(2))
        export('mobilenet', mobilenet, 14, identity, 'logits', 2, None, keep_batch_norm=True)
    if 'vgg' in args.only:
        torch.manual_seed(3)
        vgg = Vgg()
        randomize_batch_norm(vgg, torch.Generator().manual_seed(3))
        export('vgg', vgg, 10, identity, 'probabilities', 3, None)
    if 'normalized' in args.only:
        torch.manual_seed(4)
        export('normalized', Normalized(), 14, identity, 'logits', 4, None)


def export_resnet(args, mean, std):
    torch.manual_seed(1)
    resnet = ResNet()
    acc, n_test, n_train = train_resnet(resnet, args.data, args.epochs, args.per_class, mean, std, torch.Generator().manual_seed(1))
    card = {
        'name': 'resnet-onnx',
        'source': f'scripts/export-onnx-fixtures.py: PyTorch {torch.__version__}, torch.onnx opset 14; trained {args.epochs} epochs on {n_train} CIFAR-10 training images (JPEG q75 copy)',
        'classes': CLASSES,
        'output': 'logits',
        'preprocessing': {'inputRange': [0, 1], 'mean': CIFAR_MEAN, 'std': CIFAR_STD, 'layout': 'NCHW'},
        'cleanAccuracy': {'value': acc, 'n': n_test, 'data': 'CIFAR-10 test split, JPEG q75 copy'},
    }
    export('resnet', resnet, 14, lambda t: (t - mean) / std, 'logits', 1, card)


if __name__ == '__main__':
    sys.exit(main())
