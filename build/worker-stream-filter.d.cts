/** A Lambda event filter pattern (the JSON of one of FilterCriteria's Filters). */
type Pattern = { [key: string]: Pattern | unknown[] };

declare const filter: { patterns: Pattern[] };
export = filter;
