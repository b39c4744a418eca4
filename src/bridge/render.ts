import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import Handlebars from 'handlebars';

/*
 * Renders `templates/bridge/**\/*.hbs`, one template per output file (the output path is the template path without
 * `.hbs`). Values reach the output only through a helper that escapes for the target language: `xml` (text and
 * attribute values), `php` (a single-quoted PHP string literal), `json` (a JSON value). A bare `{{value}}` still gets
 * Handlebars' HTML escaping, which is valid XML, and `strict` mode turns a misspelt field into an error instead of
 * an empty string.
 */

export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => XML_ENTITIES[char] ?? char);
}

const XML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

export function phpStringLiteral(value: string): string {
  return `'${value.replace(/[\\']/g, (char) => `\\${char}`)}'`;
}

function createEnvironment(): typeof Handlebars {
  const handlebars = Handlebars.create();
  handlebars.registerHelper('xml', (value: unknown) => new handlebars.SafeString(escapeXml(String(value))));
  handlebars.registerHelper('php', (value: unknown) => new handlebars.SafeString(phpStringLiteral(String(value))));
  handlebars.registerHelper('json', (value: unknown) => new handlebars.SafeString(JSON.stringify(value)));
  return handlebars;
}

async function listTemplates(dir: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(path.join(dir, prefix), { withFileTypes: true });
  const found: string[] = [];
  for (const entry of entries) {
    const relative = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) found.push(...(await listTemplates(dir, relative)));
    else if (entry.name.endsWith('.hbs')) found.push(relative);
  }
  return found.sort();
}

/** Output path (relative, `/`-separated) → rendered text. */
export async function renderTemplates(templatesDir: string, context: object): Promise<Map<string, string>> {
  const handlebars = createEnvironment();
  const rendered = new Map<string, string>();
  for (const template of await listTemplates(templatesDir)) {
    const source = await readFile(path.join(templatesDir, template), 'utf8');
    try {
      const render = handlebars.compile(source, { strict: true, preventIndent: true });
      rendered.set(template.slice(0, -'.hbs'.length), render(context));
    } catch (error) {
      throw new Error(`template ${path.join(templatesDir, template)}: ${(error as Error).message}`, { cause: error });
    }
  }
  return rendered;
}
