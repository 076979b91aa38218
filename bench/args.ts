/** Tiny argv helpers shared by the bench scripts (`--name value` or `--name=value`). */
export function argValue(name: string, argv: string[] = process.argv.slice(2)): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === name) return argv[i + 1];
    if (a.startsWith(name + '=')) return a.slice(name.length + 1);
  }
  return undefined;
}

export function argFlag(name: string, argv: string[] = process.argv.slice(2)): boolean {
  return argv.includes(name);
}
