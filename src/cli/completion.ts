/**
 * Shell completion generated from the command tree (commander has none built in): every
 * command path's subcommands and options, which options take a value (their choices, or file
 * names), and which commands take a file argument. `strata completion bash` prints a bash
 * script; `zsh` prints the same functions loaded through zsh's bashcompinit.
 */
import type { Command, Option } from 'commander';

interface PathSpec {
  path: string;
  subcommands: string[];
  options: string[];
  /** option -> its choices, or ['__files__'] */
  values: Map<string, string[]>;
  fileArgument: boolean;
  /** Choices of the first argument (`completion <shell>`). */
  argumentChoices: string[];
}

const FILE_OPTION = /file|dir|config|module|source/i;
const FILE_ARGUMENT = /^(path|file)$/;

function specs(command: Command, path: string[] = [], out: PathSpec[] = []): PathSpec[] {
  const subs = command.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden);
  const values = new Map<string, string[]>();
  const options = new Set<string>(['--help']);
  for (const option of command.options as Option[]) {
    for (const flag of [option.long, option.short]) {
      if (!flag) continue;
      options.add(flag);
      if (option.required || option.optional) {
        const file = FILE_OPTION.test(option.long ?? '') || FILE_OPTION.test(option.flags.split(/\s+/).pop() ?? '');
        values.set(flag, option.argChoices ?? (file ? ['__files__'] : []));
      }
    }
  }
  const names = subs.flatMap((c) => [c.name(), ...c.aliases()]);
  out.push({
    path: path.join(' '),
    subcommands: names.length ? [...names, 'help'] : [],
    options: [...options],
    values,
    fileArgument: command.registeredArguments.some((a) => FILE_ARGUMENT.test(a.name())),
    argumentChoices: command.registeredArguments[0]?.argChoices ?? [],
  });
  // Aliases (`fn ls`) complete like the command they stand for.
  for (const sub of subs) for (const word of [sub.name(), ...sub.aliases()]) specs(sub, [...path, word], out);
  return out;
}

const quote = (text: string) => `'${text.replace(/'/g, "'\\''")}'`;

function bashFunctions(program: Command): string {
  const all = specs(program).filter((s, i, list) => list.findIndex((o) => o.path === s.path) === i);
  const name = program.name();
  const cases = (pick: (s: PathSpec) => string | undefined) =>
    all
      .map((s) => [s.path, pick(s)] as const)
      .filter(([, v]) => v !== undefined)
      .map(([path, v]) => `    ${quote(path)}) ${v} ;;`)
      .join('\n');
  const valueCases = all
    .flatMap((s) =>
      [...s.values].map(([flag, choices]) => `    ${quote(`${s.path}|${flag}`)}) echo ${quote(choices.join(' '))} ;;`),
    )
    .join('\n');
  return `_${name}_subcommands() {
  case "$1" in
${cases((s) => (s.subcommands.length ? `echo ${quote(s.subcommands.join(' '))}` : undefined))}
  esac
}
_${name}_options() {
  case "$1" in
${cases((s) => `echo ${quote(s.options.join(' '))}`)}
  esac
}
# Prints the option's choices ('' for a free value, __files__ for a file); fails when it takes none.
_${name}_values() {
  case "$1|$2" in
${valueCases}
    *) return 1 ;;
  esac
}
_${name}_file_argument() {
  case "$1" in
${cases((s) => (s.fileArgument ? 'return 0' : undefined))}
  esac
  return 1
}
_${name}_argument_choices() {
  case "$1" in
${cases((s) => (s.argumentChoices.length ? `echo ${quote(s.argumentChoices.join(' '))}` : undefined))}
  esac
}
_${name}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" path='' word subs values i skip=''
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    if [[ -n $skip ]]; then skip=''; continue; fi
    if [[ $word == -* ]]; then
      [[ $word != *=* ]] && _${name}_values "$path" "$word" >/dev/null && skip=1
      continue
    fi
    subs=" $(_${name}_subcommands "$path") "
    if [[ $subs == *" $word "* && $word != help ]]; then path="\${path:+$path }$word"; fi
  done
  COMPREPLY=()
  if [[ $COMP_CWORD -gt 1 && $prev == -* ]] && values="$(_${name}_values "$path" "$prev")"; then
    if [[ $values == __files__ ]]; then
      compopt -o filenames 2>/dev/null
      COMPREPLY=($(compgen -f -- "$cur"))
    elif [[ -n $values ]]; then
      COMPREPLY=($(compgen -W "$values" -- "$cur"))
    fi
    return 0
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(_${name}_options "$path")" -- "$cur"))
    return 0
  fi
  subs="$(_${name}_subcommands "$path")"
  values="$(_${name}_argument_choices "$path")"
  if [[ -n $subs ]]; then
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
  elif [[ -n $values ]]; then
    COMPREPLY=($(compgen -W "$values" -- "$cur"))
  elif _${name}_file_argument "$path"; then
    compopt -o filenames 2>/dev/null
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
  return 0
}
complete -F _${name} ${name}`;
}

export const SHELLS = ['bash', 'zsh'] as const;
export type Shell = (typeof SHELLS)[number];

export function completionScript(program: Command, shell: Shell): string {
  const name = program.name();
  const body = bashFunctions(program);
  if (shell === 'bash') {
    return `# bash completion for ${name}, generated by \`${name} completion bash\`.
# Load it now: source <(${name} completion bash)
# or for good: ${name} completion bash > ~/.local/share/bash-completion/completions/${name}
${body}
`;
  }
  return `# zsh completion for ${name}, generated by \`${name} completion zsh\`: the bash functions, loaded
# through zsh's bashcompinit. Load it: source <(${name} completion zsh)   (e.g. in ~/.zshrc)
(( $+functions[compdef] )) || { autoload -U +X compinit && compinit; }
autoload -U +X bashcompinit && bashcompinit
${body}
`;
}
