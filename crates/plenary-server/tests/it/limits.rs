//! Size caps on paragraphs, footnotes, paragraph and proposal counts and document size: refusals that name the cap.
