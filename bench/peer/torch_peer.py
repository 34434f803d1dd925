#!/usr/bin/python3
"""The PyTorch side of the side-by-side benchmark (bench/peer/run.ts drives it).

Builds a network from a tfjs LayersModel directory (model.json + weights.bin, the format of
fixtures/models/*) with the same weights, and the small CNN of bench/smallCnn.ts, and times
PGD-10 and one training step / one input gradient there. It reads one JSON command per line on
stdin and answers one JSON line on stdout, so the runner can alternate the two sides in one run.
Not a test dependency: Debian's PyTorch (`apt-get install -y python3-torch`, run with
/usr/bin/python3).
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def same_pads(size, k, s):
    """TensorFlow's 'same' padding (before, after) along one axis: the extra row goes after."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


class KerasGraph(nn.Module):
    """A tfjs-layers functional model (the layer classes the fixtures use), run in NCHW."""

    SUPPORTED = {'InputLayer', 'Conv2D', 'BatchNormalization', 'ReLU', 'Activation', 'Add', 'GlobalAveragePooling2D', 'Dense', 'Flatten', 'MaxPooling2D', 'Dropout'}

    def __init__(self, model_dir):
        super().__init__()
        with open(os.path.join(model_dir, 'model.json')) as f:
            spec = json.load(f)
        topo = spec['modelTopology']
        config = topo['model_config']['config'] if 'model_config' in topo else topo['config']
        self.layers = config['layers']
        self.input_name = config['input_layers'][0][0]
        self.output_name = config['output_layers'][0][0]
        weights = {}
        for group in spec['weightsManifest']:
            blob = b''.join(open(os.path.join(model_dir, p), 'rb').read() for p in group['paths'])
            offset = 0
            for w in group['weights']:
                if w['dtype'] != 'float32':
                    raise ValueError(f"weight {w['name']} is {w['dtype']}; only float32 weights are read here")
                n = int(np.prod(w['shape'])) if w['shape'] else 1
                weights[w['name']] = torch.from_numpy(np.frombuffer(blob, dtype='<f4', count=n, offset=offset).copy().reshape(w['shape']))
                offset += 4 * n
        self.params = nn.ParameterDict()
        for layer in self.layers:
            cls, cfg, name = layer['class_name'], layer['config'], layer['config']['name']
            if cls not in self.SUPPORTED:
                raise ValueError(f'layer class {cls} ({name}) is not supported by this peer')
            if cls == 'Conv2D':
                self.params[name + '__w'] = nn.Parameter(weights[name + '/kernel'].permute(3, 2, 0, 1).contiguous(), requires_grad=False)
                if cfg.get('use_bias', True):
                    self.params[name + '__b'] = nn.Parameter(weights[name + '/bias'], requires_grad=False)
            elif cls == 'BatchNormalization':
                for key in ('gamma', 'beta', 'moving_mean', 'moving_variance'):
                    self.params[name + '__' + key] = nn.Parameter(weights[f'{name}/{key}'], requires_grad=False)
            elif cls == 'Dense':
                self.params[name + '__w'] = nn.Parameter(weights[name + '/kernel'].t().contiguous(), requires_grad=False)
                if cfg.get('use_bias', True):
                    self.params[name + '__b'] = nn.Parameter(weights[name + '/bias'], requires_grad=False)

    @staticmethod
    def activation(y, name):
        if name in (None, 'linear'):
            return y
        if name == 'relu':
            return F.relu(y)
        if name == 'softmax':
            return F.softmax(y, dim=1)
        raise ValueError(f'activation {name} is not supported by this peer')

    def forward(self, x):
        values = {}
        for layer in self.layers:
            cls, cfg, name = layer['class_name'], layer['config'], layer['config']['name']
            inputs = [values[node[0]] for node in layer['inbound_nodes'][0]] if layer['inbound_nodes'] else []
            if cls == 'InputLayer':
                y = x
            elif cls == 'Conv2D':
                h = inputs[0]
                k, s = cfg['kernel_size'], cfg['strides']
                if cfg['padding'] == 'same':
                    top, bottom = same_pads(h.shape[2], k[0], s[0])
                    left, right = same_pads(h.shape[3], k[1], s[1])
                    if top == bottom and left == right:
                        y = F.conv2d(h, self.params[name + '__w'], self.params[name + '__b'] if (name + '__b') in self.params else None, stride=s, padding=(top, left))
                    else:
                        y = F.conv2d(F.pad(h, (left, right, top, bottom)), self.params[name + '__w'], self.params[name + '__b'] if (name + '__b') in self.params else None, stride=s)
                else:
                    y = F.conv2d(h, self.params[name + '__w'], self.params[name + '__b'] if (name + '__b') in self.params else None, stride=s)
                y = self.activation(y, cfg.get('activation'))
            elif cls == 'BatchNormalization':
                p = lambda key: self.params[name + '__' + key]
                y = F.batch_norm(inputs[0], p('moving_mean'), p('moving_variance'), p('gamma'), p('beta'), training=False, eps=cfg['epsilon'])
            elif cls == 'ReLU':
                y = F.relu(inputs[0])
            elif cls == 'Activation':
                y = self.activation(inputs[0], cfg['activation'])
            elif cls == 'Add':
                y = inputs[0]
                for other in inputs[1:]:
                    y = y + other
            elif cls == 'GlobalAveragePooling2D':
                y = inputs[0].mean(dim=(2, 3))
            elif cls == 'Flatten':
                y = inputs[0].permute(0, 2, 3, 1).flatten(1)  # Keras flattens NHWC
            elif cls == 'MaxPooling2D':
                y = F.max_pool2d(inputs[0], cfg['pool_size'], cfg['strides'])
            elif cls == 'Dropout':
                y = inputs[0]
            elif cls == 'Dense':
                y = F.linear(inputs[0], self.params[name + '__w'], self.params[name + '__b'] if (name + '__b') in self.params else None)
                y = self.activation(y, cfg.get('activation'))
            values[name] = y
        return values[self.output_name]


class SmallCnn(nn.Module):
    """bench/smallCnn.ts: conv32-conv32-pool-conv64-conv64-pool-dense128-dense10 on 32x32x3."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 32, 3, padding=1)
        self.c2 = nn.Conv2d(32, 32, 3, padding=1)
        self.c3 = nn.Conv2d(32, 64, 3, padding=1)
        self.c4 = nn.Conv2d(64, 64, 3, padding=1)
        self.d1 = nn.Linear(64 * 8 * 8, 128)
        self.d2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c2(F.relu(self.c1(x)))), 2)
        x = F.max_pool2d(F.relu(self.c4(F.relu(self.c3(x)))), 2)
        return self.d2(F.relu(self.d1(x.flatten(1))))


def pgd(model, x0, y, eps, steps, step_size, generator):
    """PGD in Linf from a uniform random start, as src/attacks/pgd.ts (summed cross-entropy)."""
    x = (x0 + torch.empty_like(x0).uniform_(-eps, eps, generator=generator)).clamp(0, 1)
    for _ in range(steps):
        x.requires_grad_(True)
        loss = F.cross_entropy(model(x), y, reduction='sum')
        (g,) = torch.autograd.grad(loss, x)
        with torch.no_grad():
            x = torch.min(torch.max(x + step_size * g.sign(), x0 - eps), x0 + eps).clamp(0, 1)
    return x.detach()


def main():
    torch.set_num_threads(int(os.environ.get('PEER_THREADS', '2')))
    state = {}
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd['cmd']
        out = {'ok': True}
        if op == 'hello':
            out.update(torch=torch.__version__, threads=torch.get_num_threads())
        elif op == 'load':
            n, h, w, c = cmd['shape']
            images = np.fromfile(cmd['images'], dtype='<f4').reshape(n, h, w, c)
            state['x'] = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
            state['y'] = torch.from_numpy(np.fromfile(cmd['labels'], dtype='<i4').astype(np.int64))
            model = KerasGraph(cmd['model']).eval()
            state['model'] = model
            with torch.no_grad():
                out['predictions'] = model(state['x']).argmax(1).tolist()
        elif op == 'pgd':
            model, x, y, b = state['model'], state['x'], state['y'], cmd['batch']
            gen = torch.Generator().manual_seed(cmd.get('seed', 0))
            robust = 0
            c = time.process_time()
            t = time.perf_counter()
            for start in range(0, x.shape[0], b):
                xa = pgd(model, x[start:start + b], y[start:start + b], cmd['eps'], cmd['steps'], cmd['eps'] / 4, gen)
                with torch.no_grad():
                    robust += int((model(xa).argmax(1) == y[start:start + b]).sum())
            out.update(seconds=time.perf_counter() - t, cpu_seconds=time.process_time() - c, images=int(x.shape[0]), robust=robust)
        elif op == 'small':
            torch.manual_seed(1)
            b = cmd['batch']
            model = SmallCnn()
            opt = torch.optim.Adam(model.parameters(), 1e-3)
            x = torch.rand(b, 3, 32, 32, generator=torch.Generator().manual_seed(7))
            y = torch.randint(0, 10, (b,), generator=torch.Generator().manual_seed(8))
            train, grad, train_cpu, grad_cpu = [], [], [], []
            for rep in range(cmd['reps'] + 1):
                c, t = time.process_time(), time.perf_counter()
                opt.zero_grad()
                F.cross_entropy(model(x), y).backward()
                opt.step()
                train.append(time.perf_counter() - t)
                train_cpu.append(time.process_time() - c)
                xi = x.clone().requires_grad_(True)
                c, t = time.process_time(), time.perf_counter()
                (g,) = torch.autograd.grad(F.cross_entropy(model(xi), y), xi)
                grad.append(time.perf_counter() - t)
                grad_cpu.append(time.process_time() - c)
            # the first round warms up (allocator, kernel selection)
            out.update(train_ms=[1000 * v for v in train[1:]], grad_ms=[1000 * v for v in grad[1:]], train_cpu_ms=[1000 * v for v in train_cpu[1:]], grad_cpu_ms=[1000 * v for v in grad_cpu[1:]])
        elif op == 'quit':
            print(json.dumps(out), flush=True)
            return
        else:
            out = {'ok': False, 'error': f'unknown command {op}'}
        print(json.dumps(out), flush=True)


if __name__ == '__main__':
    main()
