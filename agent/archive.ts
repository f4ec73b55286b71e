export { BundleIntegrityError, DEFAULT_LIMITS, type ExtractLimits, extractBundle } from './extract/index.js';
