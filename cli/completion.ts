import type { Command } from 'commander';

/** Words to offer after a command path: its subcommands and its options. */
function table(command: Command, prefix: string, out: Map<string, string[]>): void {
  const words = [...command.commands.map((c) => c.name()), ...command.options.flatMap((o) => [o.long, o.short].filter(Boolean) as string[]), '--help'];
  out.set(prefix, words);
  for (const sub of command.commands) table(sub, prefix ? `${prefix} ${sub.name()}` : sub.name(), out);
}

/** A completion script generated from the command tree itself, so it never drifts from the commands. */
export function completionScript(program: Command, shell: 'bash' | 'zsh'): string {
  const words = new Map<string, string[]>();
  table(program, '', words);
  const cases = [...words]
    .map(([path, list]) => `    "${path}") words="${list.join(' ')}" ;;`)
    .join('\n');
  const bash = `_fleetline() {
  local cur path="" w
  cur="\${COMP_WORDS[COMP_CWORD]}"
  for w in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case "$w" in -*) ;; *) [ -n "$(_fleetline_words "\${path:+$path }$w")" ] && path="\${path:+$path }$w" ;; esac
  done
  COMPREPLY=( $(compgen -W "$(_fleetline_words "$path")" -- "$cur") )
}
_fleetline_words() {
  local words=""
  case "$1" in
${cases}
  esac
  echo "$words"
}
complete -F _fleetline fleetline`;
  return shell === 'zsh' ? `autoload -U +X bashcompinit && bashcompinit\n${bash}` : bash;
}
