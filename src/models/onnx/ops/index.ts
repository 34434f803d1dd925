// The operators the importer runs, by ONNX op_type (default domain).
import type { OpBuilder } from '../op.js';
import { Clip, Dropout, HardSigmoid, HardSwish, Identity, LeakyRelu, Relu, Sigmoid, Softmax } from './activations.js';
import { Conv } from './conv.js';
import { Add, Div, Mul, Sub } from './elementwise.js';
import { Gemm, MatMul } from './linear.js';
import { BatchNormalization } from './normalization.js';
import { AveragePool, GlobalAveragePool, GlobalMaxPool, MaxPool } from './pooling.js';
import { Cast, Concat, Constant, ConstantOfShape, Flatten, Gather, Pad, Reshape, Shape, Slice, Squeeze, Transpose, Unsqueeze } from './shape.js';

export const OPERATORS: Readonly<Record<string, OpBuilder>> = {
  Conv, BatchNormalization, Relu, LeakyRelu, Clip, Sigmoid, HardSigmoid, HardSwish, Softmax, Identity, Dropout,
  Add, Sub, Mul, Div, MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, Gemm, MatMul,
  Flatten, Reshape, Transpose, Concat, Pad, Constant, Shape, Gather, Unsqueeze, Squeeze, Slice, Cast, ConstantOfShape,
};

