import { writeFigureLine } from './figures-only-stdout.js';

/** One measured figure, printed as one JSON line (the format `npm run bench` promises). */
export interface Figure {
  bench: string;
  metric: string;
  value: number;
  unit: string;
  n?: number;
}

export function printFigure(figure: Figure): Figure {
  writeFigureLine(JSON.stringify(figure));
  return figure;
}
