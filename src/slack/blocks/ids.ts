/** action_id and callback_id values shared by the builders and the listeners. */
export const ACTION = {
  vote: 'vote',
  closeRound: 'close_round',
  newRound: 'new_round',
  variantMenu: 'variant_menu',
  homeOpenThread: 'home_open_thread',
  approve: 'approve_variant',
  exportWinner: 'export_winner',
  showResults: 'show_results',
} as const;

export const CALLBACK = {
  briefModal: 'brief_modal',
  editCopy: 'edit_copy',
  addToLibrary: 'add_to_library',
} as const;

/** Overflow menu option values: "<verb>:<variant id>". */
export const MENU = { download: 'download', edit: 'edit', more: 'more' } as const;
