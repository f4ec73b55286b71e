/** A pipeline execution's ID: `e-` and 16 lowercase hex digits (derived from an upload, or random for a manual start). */
export const EXECUTION_ID_PATTERN = /^e-[0-9a-f]{16}$/;
