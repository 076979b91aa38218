/**
 * The actual compiler: type-check a policy against the SDK in an in-memory ts-morph project,
 * enforce the module rules, emit a sandbox script. Synchronous and slow (hundreds of ms on a
 * cold project): call it from the compile worker or a CLI, never on the request path.
 */
import { createHash } from 'node:crypto';
import { Project, ts } from 'ts-morph';
import { findForbidden } from './rules.js';
import { SDK_VIRTUAL_DIR, SDK_VIRTUAL_INDEX, sdkFiles } from './sdk-source.js';
import type { CompileResult, Diagnostic } from './types.js';
import { SDK_MODULE, wrapCommonJs } from './wrap.js';

/** Where the policy lives in the in-memory file system; diagnostics map it back to the caller's name. */
const POLICY_PATH = '/policy/policy.ts';

const COMPILER_OPTIONS: ts.CompilerOptions = {
  strict: true,
  // Unused names are the author's business, not a publish blocker.
  noUnusedLocals: false,
  noUnusedParameters: false,
  // QuickJS implements ES2023+; no DOM and no Node types, so `process`, `require`,
  // `setTimeout`, `console` are already "Cannot find name" errors.
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2023.d.ts'],
  types: [],
  // CommonJS emit lets wrap.ts turn any export form into a plain script (see there).
  module: ts.ModuleKind.CommonJS,
  // TypeScript 6 rejects baseUrl and moduleResolution "node": absolute `paths` + bundler.
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  paths: { [SDK_MODULE]: [SDK_VIRTUAL_INDEX] },
  esModuleInterop: true,
  skipLibCheck: true,
  noEmitOnError: false, // diagnostics were already checked; emit only runs when clean
  sourceMap: false,
  declaration: false,
  removeComments: false,
};

let project: Project | null = null;

/** One project per thread: lib and SDK files stay parsed and bound between compiles. */
function getProject(): Project {
  if (project) return project;
  project = new Project({
    useInMemoryFileSystem: true,
    skipAddingFilesFromTsConfig: true,
    compilerOptions: COMPILER_OPTIONS,
  });
  for (const f of sdkFiles()) project.createSourceFile(f.path, f.text, { overwrite: true });
  return project;
}

export function hashSource(source: string): string {
  return createHash('sha256').update(source, 'utf8').digest('hex');
}

export function compileSync(source: string, fileName: string): CompileResult {
  const hash = hashSource(source);
  const p = getProject();
  const sf = p.createSourceFile(POLICY_PATH, source, { overwrite: true });
  const node = sf.compilerNode;
  const program = p.getProgram().compilerObject;

  const at = (pos: number, message: string): Diagnostic => {
    const { line, character } = node.getLineAndCharacterOfPosition(pos);
    return { file: fileName, line: line + 1, col: character + 1, message };
  };

  const violations = findForbidden(node);
  const diagnostics: Diagnostic[] = violations.map((v) => at(v.pos, v.message));
  for (const d of ts.getPreEmitDiagnostics(program, program.getSourceFile(POLICY_PATH))) {
    // "Cannot find module 'fs'" / "Cannot find name 'require'" inside a forbidden construct
    // only repeats the rule, less clearly: report the rule alone.
    const start = d.file?.fileName === POLICY_PATH ? d.start : undefined;
    if (start !== undefined && violations.some((v) => start >= v.pos && start < v.end)) continue;
    diagnostics.push(fromTs(d, fileName));
  }
  if (diagnostics.length === 0) {
    const problem = checkDefaultExport(program, POLICY_PATH);
    if (problem) diagnostics.push(at(problem.pos, problem.message));
  }
  if (diagnostics.length > 0) {
    diagnostics.sort((a, b) => a.line - b.line || a.col - b.col);
    return { ok: false, diagnostics };
  }

  let cjs: string | null = null;
  const emitted = program.emit(program.getSourceFile(POLICY_PATH), (name, text) => {
    if (name.endsWith('.js')) cjs = text;
  });
  if (emitted.emitSkipped || cjs === null) {
    const ds = emitted.diagnostics.map((d) => fromTs(d, fileName));
    return { ok: false, diagnostics: ds.length ? ds : [at(0, 'emit failed')] };
  }
  return { ok: true, js: wrapCommonJs(cjs), hash, name: staticName(node) };
}

function fromTs(d: ts.Diagnostic, fileName: string): Diagnostic {
  // One line per diagnostic: chained messages are joined instead of indented.
  const message = ts.flattenDiagnosticMessageText(d.messageText, '\n').replace(/\n\s*/g, ' ');
  if (!d.file || d.start === undefined) return { file: fileName, line: 1, col: 1, message };
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
  const file = d.file.fileName.startsWith(SDK_VIRTUAL_DIR) ? SDK_MODULE : fileName;
  return { file, line: line + 1, col: character + 1, message };
}

/** The default export must be usable as a PolicyDefinition, however it was written. */
function checkDefaultExport(program: ts.Program, path: string): { pos: number; message: string } | null {
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(path)!;
  const moduleSymbol = checker.getSymbolAtLocation(sf);
  const exported = moduleSymbol ? checker.getExportsOfModule(moduleSymbol) : [];
  const def = exported.find((s) => s.escapedName === 'default');
  if (!def) return { pos: 0, message: `a policy must 'export default definePolicy({ name, selectProvider })'` };
  const declared = def.declarations?.[0];
  const pos = declared ? declared.getStart(sf) : 0;
  const target = policyDefinitionType(program, checker);
  if (!target) return null;
  const resolved = def.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(def) : def;
  const actual = checker.getTypeOfSymbol(resolved);
  if (checker.isTypeAssignableTo(actual, target)) return null;
  return {
    pos,
    message: `the default export is not a PolicyDefinition (${checker.typeToString(actual)}); wrap it in definePolicy({ name, selectProvider })`,
  };
}

function policyDefinitionType(program: ts.Program, checker: ts.TypeChecker): ts.Type | null {
  for (const sf of program.getSourceFiles()) {
    if (!sf.fileName.startsWith(`${SDK_VIRTUAL_DIR}/policy.`)) continue;
    for (const st of sf.statements) {
      if (ts.isInterfaceDeclaration(st) && st.name.text === 'PolicyDefinition') return checker.getTypeAtLocation(st.name);
    }
  }
  return null;
}

/** Reads `name: '...'` from `export default definePolicy({ name: '...' })` (or a bare object). */
function staticName(sf: ts.SourceFile): string | null {
  for (const st of sf.statements) {
    if (!ts.isExportAssignment(st) || st.isExportEquals) continue;
    let e: ts.Expression = st.expression;
    for (;;) {
      if (ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isSatisfiesExpression(e)) e = e.expression;
      else if (ts.isCallExpression(e) && e.arguments.length === 1) e = e.arguments[0]!;
      else break;
    }
    if (!ts.isObjectLiteralExpression(e)) return null;
    for (const prop of e.properties) {
      if (!ts.isPropertyAssignment(prop)) continue;
      if (!(ts.isIdentifier(prop.name) || ts.isStringLiteral(prop.name)) || prop.name.text !== 'name') continue;
      const init = prop.initializer;
      return ts.isStringLiteral(init) || ts.isNoSubstitutionTemplateLiteral(init) ? init.text : null;
    }
  }
  return null;
}
