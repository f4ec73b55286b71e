// Declares a module-level schema: `export const fooSchema = /* @__PURE__ */ schema(() => z…)`.
// With the annotation the bundler drops every schema a function never uses from its cold
// start; it keeps a bare `z.object({ a: z.string() })`, whose inner calls might have side
// effects as far as it can tell.
export function schema<T>(build: () => T): T {
  return build();
}
