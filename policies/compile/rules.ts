/**
 * Module-level rules a type check does not enforce: a policy may import only the SDK and may
 * not load code at run time. Checked on the syntax tree, so a violation is reported at its
 * own position even when the file has type errors too.
 */
import { ts } from 'ts-morph';
import { SDK_MODULE } from './wrap.js';

export interface RuleViolation {
  /** Span of the offending node in the source text. */
  pos: number;
  end: number;
  message: string;
}

export function findForbidden(sf: ts.SourceFile): RuleViolation[] {
  const out: RuleViolation[] = [];
  const report = (node: ts.Node, message: string) => out.push({ pos: node.getStart(sf), end: node.getEnd(), message });

  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) {
      const spec = node.moduleSpecifier;
      if (spec && !(ts.isStringLiteral(spec) && spec.text === SDK_MODULE)) {
        report(node, `only '${SDK_MODULE}' may be imported by a policy, not ${spec.getText(sf)}`);
      }
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      report(node, `'import = require()' is not allowed in a policy; use import { ... } from '${SDK_MODULE}'`);
    } else if (ts.isExportAssignment(node) && node.isExportEquals) {
      report(node, "'export =' is not allowed in a policy; use 'export default definePolicy({ ... })'");
    } else if (ts.isCallExpression(node)) {
      if (node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        report(node, 'dynamic import() is not allowed in a policy');
      } else if (ts.isIdentifier(node.expression) && node.expression.text === 'require') {
        report(node, 'require() is not allowed in a policy');
      }
    } else if (ts.isMetaProperty(node) && node.keywordToken === ts.SyntaxKind.ImportKeyword) {
      report(node, 'import.meta is not allowed in a policy');
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}
