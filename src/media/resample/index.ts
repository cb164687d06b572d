/** Streaming resampler: see resampler.ts for the engine choice and buffer rules. */
export {
  Resampler,
  createResampler,
  defaultResampleEngine,
  initResampler,
  type ResamplerOptions,
  type ResamplerQuality,
  type ResampleEngineName,
} from './resampler.ts';
export { resampleBuffer } from './resample-buffer.ts';
