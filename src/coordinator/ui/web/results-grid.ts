/**
 * A result table that stays fast at any row count: rows live in an array, and only those in
 * view (plus a margin) are in the DOM, re-rendered on scroll. Rows are fixed-height lines.
 */
const ROW_HEIGHT = 24;
const OVERSCAN = 10;
const MAX_CELL_CHARS = 500;

function cellText(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return text.length > MAX_CELL_CHARS ? `${text.slice(0, MAX_CELL_CHARS)}…` : text;
}

export class ResultsGrid {
  private columns: string[] = [];
  private rows: unknown[][] = [];
  private readonly header: HTMLDivElement;
  private readonly viewport: HTMLDivElement;
  private readonly spacer: HTMLDivElement;
  private readonly body: HTMLDivElement;
  private scheduled = false;

  constructor(private readonly root: HTMLElement) {
    root.classList.add('grid');
    this.header = root.appendChild(document.createElement('div'));
    this.header.className = 'grid-header';
    this.viewport = root.appendChild(document.createElement('div'));
    this.viewport.className = 'grid-viewport';
    this.spacer = this.viewport.appendChild(document.createElement('div'));
    this.spacer.className = 'grid-spacer';
    this.body = this.spacer.appendChild(document.createElement('div'));
    this.body.className = 'grid-body';
    this.viewport.addEventListener('scroll', () => {
      this.header.scrollLeft = this.viewport.scrollLeft;
      this.schedule();
    });
    new ResizeObserver(() => this.schedule()).observe(this.viewport);
  }

  get rowCount(): number {
    return this.rows.length;
  }

  reset(columns: string[] = []): void {
    this.columns = columns;
    this.rows = [];
    this.viewport.scrollTop = 0;
    this.renderHeader();
    this.schedule();
  }

  /** Appends rows given as objects keyed by column name; the first row names the columns if none are known. */
  append(objects: Record<string, unknown>[]): void {
    if (objects.length === 0) return;
    if (this.columns.length === 0) {
      this.columns = Object.keys(objects[0]);
      this.renderHeader();
    }
    for (const o of objects) this.rows.push(this.columns.map((c) => o[c]));
    this.schedule();
  }

  /** Row elements in the DOM: a few screens' worth, whatever the row count. */
  visibleRowElements(): number {
    return this.body.childElementCount;
  }

  private template(): string {
    const widths = this.columns.map((c, i) => {
      let chars = c.length;
      for (let r = 0; r < Math.min(this.rows.length, 200); r++) {
        chars = Math.max(chars, Math.min(cellText(this.rows[r][i]).length, 60));
      }
      return `calc(${Math.max(4, chars) + 1}ch + 1rem)`;
    });
    return widths.join(' ');
  }

  private renderHeader(): void {
    this.header.replaceChildren(
      ...this.columns.map((c) => {
        const cell = document.createElement('div');
        cell.className = 'cell';
        cell.textContent = c;
        cell.title = c;
        return cell;
      }),
    );
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.render();
    });
  }

  private render(): void {
    const template = this.template();
    this.header.style.gridTemplateColumns = template;
    this.spacer.style.height = `${this.rows.length * ROW_HEIGHT}px`;
    const first = Math.max(0, Math.floor(this.viewport.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const visible = Math.ceil(this.viewport.clientHeight / ROW_HEIGHT) + 2 * OVERSCAN;
    const last = Math.min(this.rows.length, first + visible);
    this.body.style.transform = `translateY(${first * ROW_HEIGHT}px)`;
    const lines: HTMLDivElement[] = [];
    for (let r = first; r < last; r++) {
      const line = document.createElement('div');
      line.className = 'row';
      line.style.gridTemplateColumns = template;
      line.dataset.row = String(r);
      for (const value of this.rows[r]) {
        const cell = line.appendChild(document.createElement('div'));
        cell.className = value === null || value === undefined ? 'cell null' : 'cell';
        cell.textContent = cellText(value);
      }
      lines.push(line);
    }
    this.body.replaceChildren(...lines);
    this.root.dataset.rows = String(this.rows.length);
  }
}
