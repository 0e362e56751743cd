/**
 * Approvers typed as @names (a slash command's text arrives unescaped; the form takes text too)
 * become user ids here, the one place that can ask Slack who is called what.
 */
import { describeError } from '../errors.ts';
import { approvalOptions } from '../rounds/approvals.ts';
import type { RoundOptions } from '../rounds/types.ts';
import type { SlackThread } from './thread.ts';

/**
 * Adds the people called `names` to `options.approvers` and checks the quorum against the people
 * found (two names of one person count once). Returns what to tell the author when that fails.
 */
export async function resolveApprovers(
  thread: Pick<SlackThread, 'userIdsByName'>,
  options: RoundOptions,
  names: string[],
): Promise<string | undefined> {
  if (!names.length) return undefined;
  let ids: Map<string, string>;
  try {
    ids = await thread.userIdsByName(names);
  } catch (e) {
    return `The approvers could not be looked up in Slack (${describeError(e)}); name them as @mentions and try again.`;
  }
  const missing = names.filter((n) => !ids.has(n));
  if (missing.length) {
    return `No one in this workspace is called ${missing.map((n) => `@${n}`).join(', ')}. Name approvers as @mentions (pick them from the list Slack offers).`;
  }
  try {
    Object.assign(options, approvalOptions([...(options.approvers ?? []), ...ids.values()], options.quorum));
  } catch (e) {
    return describeError(e);
  }
  return undefined;
}
