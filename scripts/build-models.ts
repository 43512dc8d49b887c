/**
 * Writes the project's own ONNX models into models/:
 *   npm run build-models            (writes models/linear_alpha.onnx)
 *   npm run build-models -- <dir>   (writes into <dir>, e.g. for tests)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildLinearAlphaModel } from '../models/linear-alpha.ts';

const dir = process.argv[2] ?? 'models';
mkdirSync(dir, { recursive: true });
const file = join(dir, 'linear_alpha.onnx');
const bytes = buildLinearAlphaModel();
writeFileSync(file, bytes);
console.log(`${file}: ${bytes.length} bytes`);
